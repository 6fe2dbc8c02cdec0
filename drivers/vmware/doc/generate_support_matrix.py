#!/usr/bin/env python3
"""Regenerate ``doc/support-matrix.md``: the contract kit's matrix row for this driver against
vcsim, plus why each missing operation is missing (from the driver).

    python drivers/vmware/doc/generate_support_matrix.py       # starts and stops vcsim itself
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

import nova_common  # noqa: F401  (threading backend before oslo.messaging)
from nova_common.virt import api
from nova_contract_tests import matrix
from nova_contract_tests.config import KitConfig
from nova_contract_tests.runner import run_kit

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from vcsim_support import Vcsim  # noqa: E402


def render() -> str:
    from nova_driver_vmware.driver import VMwareDriver

    sim = Vcsim(vms=1).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = pathlib.Path(tmp) / "vmware.conf"
            config.write_text(sim.config())
            report = run_kit(KitConfig(driver="vmware", config_files=[str(config)]))
    finally:
        sim.stop()
    if not report.ok:
        raise SystemExit(f"the kit failed against vcsim: {report.summary}")
    missing = VMwareDriver.MISSING
    lines = [
        matrix.render_markdown([report.to_dict()]).rstrip(),
        "",
        "## Why operations are missing (VMware driver against vcsim, govmomi 0.24)",
        "",
    ]
    for op in api.OPERATIONS.values():
        if op.capability in missing:
            lines.append(
                f"- **{op.name}** (missing): capability `{op.capability}` not advertised:"
                f" {missing[op.capability]}"
            )
    summary = report.summary
    lines += [
        "",
        "Soft reboot falls back to a reset: vcsim does not implement RebootGuest (MethodNotFound), and a",
        "real vCenter refuses it without VMware Tools in the guest.",
        "",
        f"Kit run: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default=str(HERE / "support-matrix.md"))
    args = parser.parse_args()
    pathlib.Path(args.output).write_text(render())
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
