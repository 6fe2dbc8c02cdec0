"""The typed XML builder: hostile names stay well-formed and round-trip exactly.

Documented limit: ``[libvirt] max_name_length`` = 255 characters by default,
so a 255-character name round-trips and a 300-character one is refused.
"""

import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest
from libvirt_test_support import make_instance, no_network

from nova_common.virt import exceptions as exc
from nova_driver_libvirt import xmlbuilder as xb

HOSTILE = [
    'say "hello"',
    "it's",
    "<script>alert(1)</script>",
    "]]>",
    "<![CDATA[ x ]]>",
    "a & b &amp; &#x41; &lt;",
    "</nova:display-name></nova:instance><owned/>",
    "Ünïcödé — 日本語 — עברית — 🚀🔥",
    "\u200b zero width and \u202e right-to-left override",
    "x" * 255,
    "<" * 255,
    "🚀" * 255,
    " leading and trailing spaces ",
    "%(uuid)s %s {0}",
]
REFUSED = [
    ("x" * 300, "300 characters"),
    ("a\x00b", "NUL"),
    ("line\nbreak", "newline"),
    ("tab\there", "tab"),
    ("cr\rhere", "carriage return"),
    ("esc\x1b[31m", "escape"),
    ("del\x7f", "DEL"),
    ("c1\x85", "C1 control"),
    ("surrogate \ud800", "lone surrogate"),
    ("nonchar \ufffe", "non-character"),
    ("", "empty"),
]


def spec(display_name, **kw):
    flavor = xb.FlavorSpec(flavorid="1", name=kw.pop("flavor_name", "m1"), vcpus=1, memory_mb=64)
    meta = xb.InstanceMetadata(display_name=display_name, flavor=flavor, package_version="0.1.0", **kw)
    return xb.DomainSpec(name="instance-x", uuid=str(uuid.uuid4()), memory_mb=64, vcpus=1, metadata=meta)


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_are_accepted_and_round_trip(name):
    assert xb.check_text("display_name", name, 255) == name
    document = spec(name, flavor_name=name, project_id=name).to_xml()
    root = ET.fromstring(document)  # well-formed
    assert root.findtext("title") == name
    assert [child.tag for child in root].count("metadata") == 1
    meta = xb.InstanceMetadata.from_domain_xml(document)
    assert meta.display_name == name
    assert meta.flavor.name == name
    assert meta.project_id == name
    # the element alone, as virDomainGetMetadata returns it
    assert xb.InstanceMetadata.from_xml(meta.to_xml()) == meta


@pytest.mark.parametrize("name,why", REFUSED, ids=[why for _n, why in REFUSED])
def test_bad_names_are_refused_naming_field_and_value(name, why):
    with pytest.raises(exc.InvalidRequest) as caught:
        xb.check_text("display_name", name, 255)
    assert caught.value.kwargs["field"] == "display_name"
    assert caught.value.kwargs["value"] == name
    assert "display_name" in str(caught.value)


def test_limit_is_configurable():
    assert xb.check_text("name", "x" * 300, 300) == "x" * 300
    with pytest.raises(exc.InvalidRequest):
        xb.check_text("name", "x" * 301, 300)


def test_snapshot_spec_round_trips_hostile_description():
    for name in HOSTILE:
        snap = xb.SnapshotSpec(name=str(uuid.uuid4()), description=name)
        assert xb.SnapshotSpec.from_xml(snap.to_xml()) == snap


def test_disk_spec_is_escaped_and_parsed_back():
    disk = xb.DiskSpec(target_dev="vdb", source_type="file", source="/var/x'\"<&>.img", serial="vol-1")
    document = f"<domain><devices>{disk.to_xml()}</devices></domain>"
    assert xb.disk_targets(document) == {"vdb": "vol-1"}
    assert ET.fromstring(disk.to_xml()).find("source").get("file") == "/var/x'\"<&>.img"
    rbd = xb.DiskSpec(
        target_dev="vdc", source_type="network", source="pool/vol", protocol="rbd", hosts=(("mon1", "6789"),)
    )
    source = ET.fromstring(rbd.to_xml()).find("source")
    assert (source.get("protocol"), source.get("name"), source.find("host").get("name")) == (
        "rbd",
        "pool/vol",
        "mon1",
    )


def test_console_log_path_parsed_from_domain():
    document = xb.DomainSpec(
        name="i",
        uuid=str(uuid.uuid4()),
        memory_mb=1,
        vcpus=1,
        metadata=spec("n").metadata,
        console_log="/var/log/nova/i.log",
    ).to_xml()
    assert xb.console_log_path(document) == "/var/log/nova/i.log"
    assert xb.console_log_path(spec("n").to_xml()) is None


def test_foreign_metadata_is_not_ours():
    assert xb.InstanceMetadata.from_domain_xml("<domain><name>test</name></domain>") is None
    other = "<domain><metadata><x:instance xmlns:x='http://other/'/></metadata></domain>"
    assert xb.InstanceMetadata.from_domain_xml(other) is None
    with pytest.raises(ValueError):
        xb.InstanceMetadata.from_xml("<something/>")


# -- through libvirt: the names survive defineXML and come back from XMLDesc() ----------


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_display_name_round_trips_through_libvirt(default_driver, host, name):
    instance = make_instance(display_name=name, flavor_name=name)
    default_driver.spawn(instance, no_network())
    document = host.lookupByUUIDString(instance.uuid).XMLDesc(0)
    meta = xb.InstanceMetadata.from_domain_xml(document)
    assert meta.display_name == name
    assert meta.flavor.name == name
    assert xb.domain_title(document) == name
    # and through virDomainGetMetadata, as the driver reads it
    dom = host.lookupByUUIDString(instance.uuid)
    assert (
        xb.InstanceMetadata.from_xml(
            dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, xb.METADATA_NS, 0)
        ).display_name
        == name
    )


@pytest.mark.parametrize("name,why", REFUSED, ids=[why for _n, why in REFUSED])
def test_spawn_refuses_bad_names_and_leaves_nothing(default_driver, host, name, why):
    instance = make_instance(display_name=name)
    before = {d.UUIDString() for d in host.listAllDomains(0)}
    with pytest.raises(exc.InvalidRequest) as caught:
        default_driver.spawn(instance, no_network())
    assert caught.value.kwargs["field"] == "display_name"
    assert {d.UUIDString() for d in host.listAllDomains(0)} == before


def test_spawn_refuses_bad_flavor_name(default_driver):
    with pytest.raises(exc.InvalidRequest) as caught:
        default_driver.spawn(make_instance(flavor_name="m1\n<x>"), no_network())
    assert caught.value.kwargs["field"] == "flavor.name"


def test_snapshot_name_hostile_and_refused(default_driver, host):
    instance = make_instance()
    default_driver.spawn(instance, no_network())
    for name in HOSTILE:
        image_id = str(uuid.uuid4())
        info = default_driver.snapshot(instance, image_id, name)
        assert info.name == name and info.image_id == image_id
        snap = host.lookupByUUIDString(instance.uuid).snapshotLookupByName(image_id, 0)
        assert xb.SnapshotSpec.from_xml(snap.getXMLDesc(0)).description == name
    for name, _why in REFUSED:
        with pytest.raises(exc.InvalidRequest) as caught:
            default_driver.snapshot(instance, str(uuid.uuid4()), name)
        assert caught.value.kwargs["field"] == "name"
    # A malformed image_id is refused by the scaffold from the spec's IsUUID
    # domain before the driver is called (the kit's image_id-outside-domain).
