#!/usr/bin/env python3
"""Regenerate ``doc/support-matrix.md``: the contract kit's matrix row for this driver on
libvirt's test driver, plus why each missing operation is missing (from the driver's probe).

    python drivers/libvirt/doc/generate_support_matrix.py [--uri test:///default]
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile

from nova_common import messaging

messaging.init_process()  # before anything imports oslo.messaging

from nova_common.virt import api  # noqa: E402
from nova_contract_tests import matrix  # noqa: E402
from nova_contract_tests.config import KitConfig  # noqa: E402
from nova_contract_tests.runner import run_kit  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def missing_reasons(uri: str) -> dict[str, str]:
    """operation -> why it is missing, from a driver started on ``uri``."""
    from oslo_config import cfg

    from nova_common.scaffold import conf as scaffold_conf
    from nova_driver_libvirt import LibvirtDriver

    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    LibvirtDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("connection_uri", uri, group="libvirt")
    driver = LibvirtDriver(conf)
    driver.start()
    try:
        missing = driver.missing_capabilities()
    finally:
        driver.stop()
    return {
        op.name: f"capability `{op.capability}` not advertised: {missing[op.capability]}"
        for op in api.OPERATIONS.values()
        if op.capability in missing
    }


def render(uri: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        config = pathlib.Path(tmp) / "libvirt.conf"
        config.write_text(f"[libvirt]\nconnection_uri = {uri}\n")
        report = run_kit(KitConfig(driver="libvirt", config_files=[str(config)]))
    if not report.ok:
        raise SystemExit(f"the kit failed against {uri}: {report.summary}")
    text = matrix.render_markdown([report.to_dict()])
    lines = [
        text.rstrip(),
        "",
        f"## Why operations are missing (libvirt driver on `{uri}`)",
        "",
        "Probed by the driver at start (`LibvirtDriver.missing_capabilities()`). On a QEMU/KVM host",
        "`volume_attach` should probe true (not verified here: no QEMU host was available), and",
        "`console_output` needs `[libvirt] console_log_dir`.",
        "",
    ]
    for operation, reason in missing_reasons(uri).items():
        lines.append(f"- **{operation}** (missing): {reason}")
    summary = report.summary
    lines += [
        "",
        f"Kit run: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uri", default="test:///default")
    parser.add_argument("--output", default=str(HERE / "support-matrix.md"))
    args = parser.parse_args()
    pathlib.Path(args.output).write_text(render(args.uri))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
