"""Core rows -> compute API v2.1 documents, and the server status mapping."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from nova_common.compute.states import TaskState, VmState

#: Nova's power_state integers (nova.compute.power_state).
POWER_STATE_CODES = {
    "nostate": 0,
    "running": 1,
    "paused": 3,
    "shutdown": 4,
    "crashed": 6,
    "suspended": 7,
}

#: (vm_state) -> (default status, {task_state: status}), as nova.api.openstack.common._STATE_MAP.
_STATE_MAP: dict[str, tuple[str, dict[str, str]]] = {
    VmState.ACTIVE: (
        "ACTIVE",
        {TaskState.REBOOTING: "REBOOT", TaskState.REBOOTING_HARD: "HARD_REBOOT"},
    ),
    VmState.BUILDING: ("BUILD", {}),
    VmState.STOPPED: ("SHUTOFF", {}),
    VmState.PAUSED: ("PAUSED", {}),
    VmState.SUSPENDED: ("SUSPENDED", {}),
    VmState.ERROR: ("ERROR", {TaskState.REBOOTING_HARD: "HARD_REBOOT"}),
    VmState.DELETED: ("DELETED", {}),
}

#: Every status a server can have here (Nova's names).
STATUSES = ("ACTIVE", "BUILD", "SHUTOFF", "PAUSED", "SUSPENDED", "REBOOT", "HARD_REBOOT", "ERROR", "DELETED")


def server_status(vm_state: str, task_state: str | None) -> str:
    default, by_task = _STATE_MAP.get(vm_state, ("UNKNOWN", {}))
    return by_task.get(task_state, default) if task_state else default


def iso(value: str | None) -> str | None:
    """The core's naive-UTC ISO stamps in the API's form (``2026-11-24T13:00:00Z``)."""
    if not value:
        return None
    return value.split(".")[0] + "Z"


def link(base: str, *parts: str) -> list[dict[str, str]]:
    path = "/".join(str(p) for p in parts)
    bookmark = base.rsplit("/v2.1", 1)[0]
    return [
        {"rel": "self", "href": f"{base}/{path}"},
        {"rel": "bookmark", "href": f"{bookmark}/{path}"},
    ]


class Catalog:
    """Flavors by internal id and images by id, for one request."""

    def __init__(self, flavors: list[dict[str, Any]], images: list[dict[str, Any]] | None = None):
        self.flavors = {f["id"]: f for f in flavors}
        self.images = {i["id"]: i for i in images or []}

    def key(self) -> tuple[Any, ...]:
        """What of the flavors a server body shows, for caching rendered bodies."""
        return tuple(
            (
                i,
                f["flavorid"],
                f["name"],
                f["root_gb"],
                f["ephemeral_gb"],
                f["swap_mb"],
                repr(f.get("extra_specs")),
            )
            for i, f in sorted(self.flavors.items())
        )


def server_brief(base: str, row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["uuid"], "name": row["name"], "links": link(base, "servers", row["uuid"])}


#: The one network every server is on: the core has no network service, so
#: an instance's interface is derived from its database id (unique per cloud).
NETWORK_NAME = "private"
_NETWORK_BASE = int(ipaddress.IPv4Address("10.0.0.0"))


def addresses(row: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Nova's ``addresses`` of a placed instance: {network: [{addr, version, type, mac}]}."""
    if not row.get("host") or row.get("deleted"):
        return {}
    offset = row["id"] + 1
    mac = "fa:16:3e:" + ":".join(f"{(offset >> shift) & 0xFF:02x}" for shift in (16, 8, 0))
    return {
        NETWORK_NAME: [
            {
                "version": 4,
                "addr": str(ipaddress.IPv4Address(_NETWORK_BASE + offset)),
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": mac,
            }
        ]
    }


#: Statuses whose server body has ``progress`` (nova.api.openstack.compute.views.servers).
_PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def _flavor_of_server(
    base: str, row: dict[str, Any], flavor: dict[str, Any] | None, version: tuple[int, int]
) -> dict[str, Any]:
    if version >= (2, 47):
        # 2.47: the flavor as the server was built with it, not a link.
        return {
            "vcpus": row["vcpus"],
            "ram": row["memory_mb"],
            "disk": flavor["root_gb"] if flavor else row["disk_gb"],
            "ephemeral": flavor["ephemeral_gb"] if flavor else 0,
            "swap": flavor["swap_mb"] if flavor else 0,
            "original_name": flavor["name"] if flavor else str(row["flavor_id"]),
            "extra_specs": dict(flavor.get("extra_specs") or {}) if flavor else {},
        }
    flavor_id = flavor["flavorid"] if flavor else str(row["flavor_id"])
    return {"id": flavor_id, "links": link(base, "flavors", flavor_id)[1:]}


def host_status(service: dict[str, Any] | None) -> str:
    """2.16's ``host_status`` (nova.compute.api.API.get_instance_host_status;
    nothing is forced down here)."""
    if service is None:
        return ""
    if service["status"] != "enabled":
        return "MAINTENANCE"
    return "UP" if service["state"] == "up" else "UNKNOWN"


def server_detail(
    base: str,
    row: dict[str, Any],
    catalog: Catalog,
    version: tuple[int, int] = (2, 1),
    services: dict[str, dict[str, Any]] | None = None,
    reduced: bool = False,
) -> dict[str, Any]:
    """``services`` (host -> service, for 2.16's host_status) only from 2.16 on.
    ``reduced``: the body of ``PUT /servers/{id}`` (Nova's before 2.75), without
    the extensions' keys."""
    flavor = catalog.flavors.get(row["flavor_id"])
    status = server_status(row["vm_state"], row["task_state"])
    body: dict[str, Any] = {
        "id": row["uuid"],
        "name": row["name"],
        "status": status,
        "tenant_id": row.get("project_id") or "",
        "user_id": row.get("user_id") or "",
        "metadata": dict(row.get("metadata") or {}),
        "hostId": _host_id(row),
        "image": {"id": row["image_id"], "links": link(base, "images", row["image_id"])[1:]},
        "flavor": _flavor_of_server(base, row, flavor, version),
        "created": iso(row["created_at"]),
        "updated": iso(row["updated_at"] or row["created_at"]),
        "addresses": addresses(row),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": link(base, "servers", row["uuid"]),
        "OS-DCF:diskConfig": "MANUAL",
    }
    if status in _PROGRESS_STATUSES:
        body["progress"] = 100 if status == "ACTIVE" else 0
    fault = row.get("fault")
    if fault and status in ("ERROR", "DELETED"):
        body["fault"] = {
            "code": 500,
            "message": fault["message"],
            "created": iso(fault["created_at"]),
        }
    if not reduced:
        body.update(_extensions(row, version, services))
    if version >= (2, 9):
        body["locked"] = False  # there is no lock action here
    if version >= (2, 19):
        body["description"] = row.get("description")
    if version >= (2, 26):
        body["tags"] = list(row.get("tags") or [])
    return body


def _extensions(
    row: dict[str, Any], version: tuple[int, int], services: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    """The keys of the former v2.0 extensions, in a server body but not in PUT's."""
    volumes = sorted((row.get("volumes") or {}).items())
    body: dict[str, Any] = {
        "OS-EXT-AZ:availability_zone": "nova",
        "config_drive": "",
        "key_name": row.get("key_name"),
        "security_groups": [{"name": "default"}],
        "OS-EXT-SRV-ATTR:host": row["host"],
        "OS-EXT-SRV-ATTR:hypervisor_hostname": row["host"],
        "OS-EXT-SRV-ATTR:instance_name": "instance-" + row["uuid"],
        "OS-EXT-STS:vm_state": row["vm_state"],
        "OS-EXT-STS:task_state": row["task_state"],
        "OS-EXT-STS:power_state": POWER_STATE_CODES.get(row["power_state"], 0),
        "OS-SRV-USG:launched_at": iso(row.get("launched_at")),
        "OS-SRV-USG:terminated_at": iso(row.get("deleted_at")),
        "os-extended-volumes:volumes_attached": [
            {"id": volume_id, **({"delete_on_termination": False} if version >= (2, 3) else {})}
            for _, volume_id in volumes
        ],
    }
    if version >= (2, 3):
        body.update(
            {
                "OS-EXT-SRV-ATTR:reservation_id": "r-" + row["uuid"][:8],
                "OS-EXT-SRV-ATTR:launch_index": 0,
                "OS-EXT-SRV-ATTR:kernel_id": "",
                "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:hostname": _hostname(row["name"]),
                "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                "OS-EXT-SRV-ATTR:user_data": None,
            }
        )
    if version >= (2, 16):
        body["host_status"] = host_status((services or {}).get(row["host"])) if row["host"] else ""
    return body


def _host_id(row: dict[str, Any]) -> str:
    """Nova's hostId: sha224 of project id and host, so tenants cannot read host names."""
    if not row["host"]:
        return ""
    return hashlib.sha224(((row.get("project_id") or "") + row["host"]).encode()).hexdigest()


def _hostname(name: str) -> str:
    """The guest hostname Nova derives from a display name (nova.utils.sanitize_hostname)."""
    hostname = re.sub(r"[ _]", "-", name.lower())
    hostname = re.sub(r"[^\w.-]+", "", hostname, flags=re.ASCII).strip(".-")[:63]
    return hostname or "server"


def flavor_brief(base: str, flavor: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": flavor["flavorid"],
        "name": flavor["name"],
        "links": link(base, "flavors", flavor["flavorid"]),
    }


def flavor_detail(base: str, flavor: dict[str, Any]) -> dict[str, Any]:
    return {
        **flavor_brief(base, flavor),
        "ram": flavor["memory_mb"],
        "vcpus": flavor["vcpus"],
        "disk": flavor["root_gb"],
        "OS-FLV-EXT-DATA:ephemeral": flavor["ephemeral_gb"],
        "swap": flavor["swap_mb"] or "",
        "rxtx_factor": 1.0,
        "os-flavor-access:is_public": True,
        "OS-FLV-DISABLED:disabled": False,
    }


_IMAGE_STATUS = {"active": "ACTIVE", "saving": "SAVING", "error": "ERROR", "deleted": "DELETED"}


def image_brief(base: str, image: dict[str, Any]) -> dict[str, Any]:
    return {"id": image["id"], "name": image["name"], "links": link(base, "images", image["id"])}


def image_detail(base: str, image: dict[str, Any]) -> dict[str, Any]:
    status = _IMAGE_STATUS.get(image["status"], image["status"].upper())
    body = {
        **image_brief(base, image),
        "status": status,
        "progress": 100 if status == "ACTIVE" else 25 if status == "SAVING" else 0,
        "minDisk": image["min_disk_gb"],
        "minRam": image["min_ram_mb"],
        "created": iso(image["created_at"]),
        "updated": iso(image["created_at"]),
        "metadata": dict(image.get("properties") or {}),
        "OS-EXT-IMG-SIZE:size": image.get("size_bytes", 0),
    }
    if image.get("source_instance_uuid"):
        uuid = image["source_instance_uuid"]
        body["server"] = {"id": uuid, "links": link(base, "servers", uuid)}
    return body


def compute_driver(service: dict[str, Any]) -> dict[str, Any]:
    """What this system adds to Nova's hosts (``GET /os-compute-drivers``): which
    driver release runs on the host, the virt contract versions it speaks and
    its capabilities."""
    return {
        "host": service["host"],
        "hypervisor_id": service["id"],
        "driver_name": service["driver_name"],
        "driver_version": service["driver_version"],
        "virt_api_version": f"{service['virt_api_min']}-{service['virt_api_max']}",
        "capabilities": list(service["capabilities"]),
    }


def hypervisor_brief(service: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": service["id"],
        "hypervisor_hostname": service["hypervisor_hostname"] or service["host"],
        "state": service["state"],
        "status": service["status"],
    }


def hypervisor_detail(
    service: dict[str, Any], running_vms: int, version: tuple[int, int] = (2, 1)
) -> dict[str, Any]:
    free_ram = service["memory_mb"] - service["memory_mb_used"]
    free_disk = service["local_gb"] - service["local_gb_used"]
    return {
        **hypervisor_brief(service),
        "hypervisor_type": service["hypervisor_type"],
        "hypervisor_version": service["hypervisor_version"],
        "host_ip": "127.0.0.1",
        "vcpus": service["vcpus"],
        "vcpus_used": service["vcpus_used"],
        "memory_mb": service["memory_mb"],
        "memory_mb_used": service["memory_mb_used"],
        "local_gb": service["local_gb"],
        "local_gb_used": service["local_gb_used"],
        "free_ram_mb": free_ram,
        "free_disk_gb": free_disk,
        "disk_available_least": free_disk,
        "current_workload": 0,
        "running_vms": running_vms,
        # 2.28: an object (Nova's compute node cpu_info parsed); before, its JSON text.
        "cpu_info": {} if version >= (2, 28) else "{}",
        "service": {
            "host": service["host"],
            "id": service["id"],
            "disabled_reason": service["disabled_reason"],
        },
    }


def service_view(service: dict[str, Any], version: tuple[int, int] = (2, 1)) -> dict[str, Any]:
    body = {
        "id": service["id"],
        "binary": "nova-compute",
        "host": service["host"],
        "zone": "nova",
        "status": service["status"],
        "state": service["state"],
        "updated_at": iso(service["last_heartbeat"] or service["updated_at"]),
        "disabled_reason": service["disabled_reason"],
    }
    if version >= (2, 11):
        body["forced_down"] = False  # there is no force-down here: liveness is the heartbeat's
    return body


def attachment_view(server_id: str, device: str, volume_id: str) -> dict[str, Any]:
    return {"id": volume_id, "serverId": server_id, "volumeId": volume_id, "device": device}
