"""The distribution: entry point, console script, options for oslo-config-generator, dependencies."""

import importlib.metadata
import pathlib

import tomllib

from nova_common.scaffold.loader import load_driver_class
from nova_driver_libvirt import LibvirtDriver, cmd, conf, driver

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_entry_point_loads_the_driver():
    assert load_driver_class("libvirt") is LibvirtDriver
    assert LibvirtDriver.name == "libvirt" and LibvirtDriver.distribution == "nova-driver-libvirt"


def test_console_script_and_opts_entry_points():
    dist = importlib.metadata.distribution("nova-driver-libvirt")
    source = tomllib.loads((pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert dist.version == source["project"]["version"]  # the installed package is this tree's
    eps = {(ep.group, ep.name): ep.value for ep in dist.entry_points}
    assert eps[("console_scripts", "nova-compute-libvirt")] == "nova_driver_libvirt.cmd:main"
    assert eps[("nova.virt.drivers", "libvirt")] == "nova_driver_libvirt.driver:LibvirtDriver"
    assert eps[("oslo.config.opts", "nova_driver_libvirt")] == "nova_driver_libvirt.conf:list_opts"
    assert callable(cmd.main)


def test_options_are_listed_with_help():
    [(group, opts)] = conf.list_opts()
    assert group == "libvirt" and driver.list_opts() == conf.list_opts()
    by_name = {opt.name: opt for opt in opts}
    assert by_name["connection_uri"].default == "qemu:///system"
    assert by_name["domain_name_template"].default == "instance-%(uuid)s"
    assert by_name["max_name_length"].default == 255
    assert all(opt.help for opt in opts)


def test_dependencies_are_nova_common_libvirt_python_and_the_oslo_libraries_it_imports():
    requires = importlib.metadata.requires("nova-driver-libvirt")
    runtime = sorted(r for r in requires if "extra ==" not in r)
    assert runtime == [
        "libvirt-python",
        "nova-common<2,>=1.1",
        "oslo.config>=9.0",
        "oslo.log>=5.0",
        "oslo.utils>=7.0",
    ]
    bindep = (ROOT / "bindep.txt").read_text()
    assert "libvirt-dev" in bindep and "pkg-config" in bindep


def test_sample_config_is_current():
    sample = (ROOT / "etc" / "nova-compute-libvirt.conf.sample").read_text()
    for opt in conf.libvirt_opts:
        assert f"#{opt.name} = " in sample
