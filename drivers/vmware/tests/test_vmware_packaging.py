"""Packaging: entry points, console script, options, dependencies, sample config."""

import importlib.metadata
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent.parent


def test_entry_point_loads_the_driver():
    (entry,) = [e for e in importlib.metadata.entry_points(group="nova.virt.drivers") if e.name == "vmware"]
    from nova_driver_vmware.driver import VMwareDriver

    assert entry.load() is VMwareDriver


def test_options_have_help_and_the_password_is_secret():
    from nova_driver_vmware.conf import list_opts

    ((group, opts),) = list_opts()
    assert group == "vmware"
    names = {o.name for o in opts}
    assert {
        "host_ip",
        "host_port",
        "host_username",
        "host_password",
        "ca_file",
        "insecure",
        "cluster_name",
        "datastore_regex",
        "vm_folder",
        "task_poll_interval",
        "api_retry_count",
    } <= names
    assert all(o.help for o in opts)
    assert next(o for o in opts if o.name == "host_password").secret


def test_dependencies_are_nova_common_pyvmomi_and_the_oslo_libraries_it_imports():
    requires = importlib.metadata.requires("nova-driver-vmware") or []
    base = sorted(
        r.split(">")[0].split("<")[0].split("=")[0].strip() for r in requires if "extra ==" not in r
    )
    assert base == ["nova-common", "oslo.config", "oslo.log", "pyvmomi"]


def test_sample_config_is_current(tmp_path):
    out = tmp_path / "sample.conf"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "oslo_config.generator",
            "--namespace",
            "nova_common",
            "--namespace",
            "nova_driver_vmware",
            "--namespace",
            "oslo.messaging",
            "--namespace",
            "oslo.log",
            "--output-file",
            str(out),
        ],
        check=True,
    )
    assert out.read_text() == (HERE / "etc" / "nova-compute-vmware.conf.sample").read_text()
