"""Fixtures: drivers on libvirt's real test driver, never a mock of libvirt.

``test:///default`` is one host per process, shared by every connection, and
it starts with a domain named ``test`` that belongs to nobody here: tests
must never touch it, and must not assume an empty host. A session-wide
``host`` connection keeps that default host alive (libvirt frees it when its
last connection closes) and lets tests look at the host behind the driver's
back. ``test:///<path>.xml`` gives each connection a private host built from
that file (``fixtures/node.xml``: 2 sockets x 8 cores x 2 threads, 64 GiB).
"""

import pathlib
import uuid
import xml.etree.ElementTree as ET

import libvirt
from oslo_config import cfg

from nova_common import objects
from nova_common.scaffold import conf as scaffold_conf
from nova_driver_libvirt import LibvirtDriver

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
NODE_XML = FIXTURES / "node.xml"
DEFAULT_URI = "test:///default"
NODE_URI = f"test://{NODE_XML}"
URIS = {"default": DEFAULT_URI, "node": NODE_URI}

# libvirt prints every error it raises to stderr; the tests provoke many on purpose.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def make_conf(uri: str = DEFAULT_URI, **overrides) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    LibvirtDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("connection_uri", uri, group="libvirt")
    conf.set_override("reconnect_interval", 0.0, group="libvirt")
    conf.set_override("shutdown_poll_interval", 0.01, group="libvirt")
    for name, value in overrides.items():
        conf.set_override(name, value, group="libvirt")
    return conf


def make_driver(uri: str = DEFAULT_URI, **overrides) -> LibvirtDriver:
    driver = LibvirtDriver(make_conf(uri, **overrides))
    driver.start()
    return driver


def make_instance(display_name: str = "vm", vcpus: int = 1, memory_mb: int = 256, root_gb: int = 1, **kw):
    return objects.Instance(
        uuid=kw.pop("uuid", str(uuid.uuid4())),
        display_name=display_name,
        project_id=kw.pop("project_id", "p1"),
        user_id=kw.pop("user_id", "u1"),
        flavor=objects.Flavor(
            flavorid=kw.pop("flavorid", "42"),
            name=kw.pop("flavor_name", "m1.tiny"),
            vcpus=vcpus,
            memory_mb=memory_mb,
            root_gb=root_gb,
        ),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
        **kw,
    )


def foreign_domain_xml(name: str | None = None) -> str:
    """A domain without our metadata, as another tool would define it."""
    root = ET.Element("domain", {"type": "test"})
    ET.SubElement(root, "name").text = name or f"stranger-{uuid.uuid4().hex[:8]}"
    ET.SubElement(root, "memory", {"unit": "MiB"}).text = "16"
    ET.SubElement(ET.SubElement(root, "os"), "type").text = "hvm"
    return ET.tostring(root, encoding="unicode")


def no_network() -> objects.NetworkInfo:
    return objects.NetworkInfo(objects=[])
