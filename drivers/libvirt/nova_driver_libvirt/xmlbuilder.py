"""Typed builders (and parsers) for the XML documents this driver hands to libvirt.

Every document is built from dataclasses with :mod:`xml.etree.ElementTree`,
never by string formatting, so whatever a user typed (a display name, a
snapshot name, a flavor name) is escaped by the serializer and comes back
exactly as it went in when the XML is parsed again (also from libvirt's own
``XMLDesc()``).

Values are checked before they get here (:func:`check_text`): XML 1.0
cannot carry most control characters at all, and libvirt would refuse or
mangle them, so they are refused with InvalidRequest naming the field.

Ownership: a domain belongs to this driver when it carries our
``<metadata>`` element, in the namespace :data:`METADATA_NS`. That URI is
stable: changing it would orphan every running instance.
"""

from __future__ import annotations

import dataclasses
import unicodedata
import xml.etree.ElementTree as ET

from nova_common.virt import exceptions as exc

#: Namespace of our ``<metadata>`` element. Never change it (see module docstring).
METADATA_NS = "http://nova-common.example/xmlns/libvirt/instance/1.0"
#: Prefix libvirt writes for it.
METADATA_PREFIX = "nova"
#: Version of the metadata layout we write (readers accept any 1.x).
METADATA_FORMAT = "1.0"


def _q(tag: str) -> str:
    return f"{{{METADATA_NS}}}{tag}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# -- validation ---------------------------------------------------------------


def _xml_char_ok(char: str) -> bool:
    """Characters XML 1.0 can carry (its Char production), minus controls."""
    code = ord(char)
    if unicodedata.category(char) in ("Cc", "Cs"):
        return False
    if 0xFFFE <= code <= 0xFFFF or 0xFDD0 <= code <= 0xFDEF:
        return False
    return True


def check_text(field: str, value: str, max_length: int, allow_empty: bool = False) -> str:
    """Return ``value`` when it can travel through libvirt's XML unchanged.

    Refused with InvalidRequest naming ``field`` and the value: a non-string,
    an empty string (unless ``allow_empty``), more than ``max_length``
    characters, any control character (tab, newline and DEL included), a
    lone surrogate or a Unicode non-character. Quotes, ``<``, ``&``, ``]]>``
    and any other printable Unicode are fine: the serializer escapes them.
    """
    if not isinstance(value, str):
        raise exc.InvalidRequest(field=field, value=value, reason="must be a string")
    if not value and not allow_empty:
        raise exc.InvalidRequest(field=field, value=value, reason="must not be empty")
    if len(value) > max_length:
        raise exc.InvalidRequest(
            field=field, value=value, reason=f"is {len(value)} characters long, the limit is {max_length}"
        )
    for position, char in enumerate(value):
        if not _xml_char_ok(char):
            raise exc.InvalidRequest(
                field=field,
                value=value,
                reason=f"contains the control or non-character U+{ord(char):04X} at position {position}",
            )
    return value


# -- instance metadata ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FlavorSpec:
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap_mb: int = 0


@dataclasses.dataclass(frozen=True)
class InstanceMetadata:
    """What we record inside the domain: it marks the domain as ours."""

    display_name: str
    flavor: FlavorSpec
    package_version: str
    project_id: str | None = None
    user_id: str | None = None
    image_id: str | None = None

    def to_element(self) -> ET.Element:
        root = ET.Element(_q("instance"), {"format": METADATA_FORMAT})
        ET.SubElement(root, _q("package"), {"name": "nova-driver-libvirt", "version": self.package_version})
        ET.SubElement(root, _q("display-name")).text = self.display_name
        flavor = ET.SubElement(
            root,
            _q("flavor"),
            {"id": self.flavor.flavorid, "name": self.flavor.name},
        )
        for tag, value in (
            ("vcpus", self.flavor.vcpus),
            ("memory-mb", self.flavor.memory_mb),
            ("root-gb", self.flavor.root_gb),
            ("ephemeral-gb", self.flavor.ephemeral_gb),
            ("swap-mb", self.flavor.swap_mb),
        ):
            ET.SubElement(flavor, _q(tag)).text = str(int(value))
        owner = {}
        if self.project_id is not None:
            owner["project"] = self.project_id
        if self.user_id is not None:
            owner["user"] = self.user_id
        if owner:
            ET.SubElement(root, _q("owner"), owner)
        if self.image_id is not None:
            ET.SubElement(root, _q("image"), {"id": self.image_id})
        return root

    def to_xml(self) -> str:
        """The element alone, as libvirt's ``setMetadata``/``metadata`` exchange it."""
        return serialize(self.to_element())

    @classmethod
    def from_element(cls, root: ET.Element) -> InstanceMetadata:
        """Parse our element; raise ValueError when it is not ours or is malformed.

        libvirt's ``virDomainGetMetadata`` hands the element back without its
        namespace, ``XMLDesc()`` with it: both are read by local name.
        """
        if _local(root.tag) != "instance":
            raise ValueError(f"not our metadata element: {root.tag}")
        children = {_local(child.tag): child for child in root}
        flavor = children.get("flavor")
        if flavor is None:
            raise ValueError("metadata without a flavor")
        flavor_values = {_local(child.tag): child.text for child in flavor}

        def num(tag: str) -> int:
            return int(flavor_values.get(tag) or 0)

        package = children.get("package")
        owner = children.get("owner")
        image = children.get("image")
        name = children.get("display-name")
        return cls(
            display_name=(name.text or "") if name is not None else "",
            flavor=FlavorSpec(
                flavorid=flavor.get("id", ""),
                name=flavor.get("name", ""),
                vcpus=num("vcpus"),
                memory_mb=num("memory-mb"),
                root_gb=num("root-gb"),
                ephemeral_gb=num("ephemeral-gb"),
                swap_mb=num("swap-mb"),
            ),
            package_version=package.get("version", "") if package is not None else "",
            project_id=owner.get("project") if owner is not None else None,
            user_id=owner.get("user") if owner is not None else None,
            image_id=image.get("id") if image is not None else None,
        )

    @classmethod
    def from_xml(cls, text: str) -> InstanceMetadata:
        return cls.from_element(ET.fromstring(text))

    @classmethod
    def from_domain_xml(cls, text: str) -> InstanceMetadata | None:
        """Our metadata from a whole domain document (``XMLDesc()``), or None."""
        root = ET.fromstring(text)
        holder = root.find("metadata")
        if holder is None:
            return None
        element = holder.find(_q("instance"))
        return None if element is None else cls.from_element(element)


# -- devices --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DiskSpec:
    """A disk: a local file or block device, or a network (rbd, iscsi) volume."""

    target_dev: str
    source_type: str  # "file", "block" or "network"
    source: str  # path, or the network volume name
    protocol: str | None = None  # network only: rbd, iscsi, ...
    hosts: tuple[tuple[str, str], ...] = ()  # network only: (name, port)
    bus: str = "virtio"
    serial: str | None = None  # the volume id, so the guest (and we) can find it
    driver_type: str = "raw"

    def to_element(self) -> ET.Element:
        disk = ET.Element("disk", {"type": self.source_type, "device": "disk"})
        ET.SubElement(disk, "driver", {"name": "qemu", "type": self.driver_type, "cache": "none"})
        if self.source_type == "file":
            ET.SubElement(disk, "source", {"file": self.source})
        elif self.source_type == "block":
            ET.SubElement(disk, "source", {"dev": self.source})
        else:
            source = ET.SubElement(disk, "source", {"protocol": self.protocol or "", "name": self.source})
            for host, port in self.hosts:
                ET.SubElement(source, "host", {"name": host, "port": port})
        ET.SubElement(disk, "target", {"dev": self.target_dev, "bus": self.bus})
        if self.serial:
            ET.SubElement(disk, "serial").text = self.serial
        return disk

    def to_xml(self) -> str:
        return serialize(self.to_element())


@dataclasses.dataclass(frozen=True)
class InterfaceSpec:
    mac: str
    bridge: str | None = None
    mtu: int | None = None
    devname: str | None = None

    def to_element(self) -> ET.Element:
        iface = ET.Element("interface", {"type": "bridge" if self.bridge else "network"})
        ET.SubElement(iface, "mac", {"address": self.mac})
        if self.bridge:
            ET.SubElement(iface, "source", {"bridge": self.bridge})
        else:
            ET.SubElement(iface, "source", {"network": "default"})
        if self.devname:
            ET.SubElement(iface, "target", {"dev": self.devname})
        if self.mtu:
            ET.SubElement(iface, "mtu", {"size": str(int(self.mtu))})
        ET.SubElement(iface, "model", {"type": "virtio"})
        return iface


# -- domains --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DomainSpec:
    """One libvirt domain definition."""

    name: str
    uuid: str
    memory_mb: int
    vcpus: int
    metadata: InstanceMetadata
    domain_type: str = "kvm"
    os_type: str = "hvm"
    disks: tuple[DiskSpec, ...] = ()
    interfaces: tuple[InterfaceSpec, ...] = ()
    console_log: str | None = None  # path of the serial console log file
    serial_console: bool = True

    def to_element(self) -> ET.Element:
        domain = ET.Element("domain", {"type": self.domain_type})
        ET.SubElement(domain, "name").text = self.name
        ET.SubElement(domain, "uuid").text = self.uuid
        ET.SubElement(domain, "title").text = self.metadata.display_name
        holder = ET.SubElement(domain, "metadata")
        holder.append(self.metadata.to_element())
        ET.SubElement(domain, "memory", {"unit": "MiB"}).text = str(int(self.memory_mb))
        ET.SubElement(domain, "currentMemory", {"unit": "MiB"}).text = str(int(self.memory_mb))
        ET.SubElement(domain, "vcpu").text = str(int(self.vcpus))
        os_el = ET.SubElement(domain, "os")
        ET.SubElement(os_el, "type").text = self.os_type
        ET.SubElement(os_el, "boot", {"dev": "hd"})
        ET.SubElement(domain, "on_poweroff").text = "destroy"
        ET.SubElement(domain, "on_reboot").text = "restart"
        ET.SubElement(domain, "on_crash").text = "destroy"
        devices = ET.SubElement(domain, "devices")
        for disk in self.disks:
            devices.append(disk.to_element())
        for iface in self.interfaces:
            devices.append(iface.to_element())
        if self.serial_console:
            if self.console_log:
                serial = ET.SubElement(devices, "serial", {"type": "file"})
                ET.SubElement(serial, "source", {"path": self.console_log})
            else:
                serial = ET.SubElement(devices, "serial", {"type": "pty"})
            ET.SubElement(serial, "target", {"port": "0"})
            console = ET.SubElement(devices, "console", {"type": serial.get("type", "pty")})
            ET.SubElement(console, "target", {"type": "serial", "port": "0"})
        return domain

    def to_xml(self) -> str:
        return serialize(self.to_element())


@dataclasses.dataclass(frozen=True)
class SnapshotSpec:
    """A libvirt domain snapshot; ``name`` is ours (the image id), ``description`` the user's."""

    name: str
    description: str

    def to_element(self) -> ET.Element:
        snap = ET.Element("domainsnapshot")
        ET.SubElement(snap, "name").text = self.name
        ET.SubElement(snap, "description").text = self.description
        return snap

    def to_xml(self) -> str:
        return serialize(self.to_element())

    @classmethod
    def from_xml(cls, text: str) -> SnapshotSpec:
        root = ET.fromstring(text)
        return cls(name=root.findtext("name") or "", description=root.findtext("description") or "")


def domain_title(text: str) -> str | None:
    """The ``<title>`` of a domain document."""
    return ET.fromstring(text).findtext("title")


def disk_targets(domain_xml: str) -> dict[str, str | None]:
    """``{target dev: serial}`` of every disk in a domain document."""
    found: dict[str, str | None] = {}
    for disk in ET.fromstring(domain_xml).iterfind("devices/disk"):
        target = disk.find("target")
        if target is not None and target.get("dev"):
            found[target.get("dev", "")] = disk.findtext("serial")
    return found


def console_log_path(domain_xml: str) -> str | None:
    """The file the domain's first serial port logs to, if any."""
    for serial in ET.fromstring(domain_xml).iterfind("devices/serial"):
        if serial.get("type") == "file":
            source = serial.find("source")
            if source is not None:
                return source.get("path")
    return None


ET.register_namespace(METADATA_PREFIX, METADATA_NS)


def serialize(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode")
