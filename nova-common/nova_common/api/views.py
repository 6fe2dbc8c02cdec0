"""Core rows -> compute API v2.1 documents, and the server status mapping."""

from __future__ import annotations

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


def _iso(value: str | None) -> str | None:
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


def server_brief(base: str, row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["uuid"], "name": row["name"], "links": link(base, "servers", row["uuid"])}


def server_detail(base: str, row: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    flavor = catalog.flavors.get(row["flavor_id"])
    flavor_id = flavor["flavorid"] if flavor else str(row["flavor_id"])
    status = server_status(row["vm_state"], row["task_state"])
    body: dict[str, Any] = {
        "id": row["uuid"],
        "name": row["name"],
        "status": status,
        "tenant_id": row.get("project_id") or "",
        "user_id": row.get("user_id") or "",
        "metadata": dict(row.get("metadata") or {}),
        "hostId": row["host"] or "",
        "image": {"id": row["image_id"], "links": link(base, "images", row["image_id"])[1:]},
        "flavor": {"id": flavor_id, "links": link(base, "flavors", flavor_id)[1:]},
        "created": _iso(row["created_at"]),
        "updated": _iso(row["updated_at"] or row["created_at"]),
        "addresses": {},
        "accessIPv4": "",
        "accessIPv6": "",
        "links": link(base, "servers", row["uuid"]),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 100 if status == "ACTIVE" else 0,
        "OS-EXT-AZ:availability_zone": "nova",
        "config_drive": "",
        "key_name": None,
        "security_groups": [],
        "OS-EXT-SRV-ATTR:host": row["host"],
        "OS-EXT-SRV-ATTR:hypervisor_hostname": row["host"],
        "OS-EXT-SRV-ATTR:instance_name": "instance-" + row["uuid"],
        "OS-EXT-STS:vm_state": row["vm_state"],
        "OS-EXT-STS:task_state": row["task_state"],
        "OS-EXT-STS:power_state": POWER_STATE_CODES.get(row["power_state"], 0),
        "OS-SRV-USG:launched_at": _iso(row.get("launched_at")),
        "OS-SRV-USG:terminated_at": _iso(row.get("deleted_at")),
        "os-extended-volumes:volumes_attached": [
            {"id": volume_id} for _, volume_id in sorted((row.get("volumes") or {}).items())
        ],
    }
    fault = row.get("fault")
    if fault and status in ("ERROR", "DELETED"):
        body["fault"] = {
            "code": 500,
            "message": fault["message"],
            "created": _iso(fault["created_at"]),
        }
    return body


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
        "created": _iso(image["created_at"]),
        "updated": _iso(image["created_at"]),
        "metadata": dict(image.get("properties") or {}),
        "OS-EXT-IMG-SIZE:size": image.get("size_bytes", 0),
    }
    if image.get("source_instance_uuid"):
        uuid = image["source_instance_uuid"]
        body["server"] = {"id": uuid, "links": link(base, "servers", uuid)}
    return body


def _driver_fields(service: dict[str, Any]) -> dict[str, Any]:
    """What this system adds: which driver release runs on the host."""
    return {
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


def hypervisor_detail(service: dict[str, Any], running_vms: int) -> dict[str, Any]:
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
        "cpu_info": "{}",
        "service": {
            "host": service["host"],
            "id": service["id"],
            "disabled_reason": service["disabled_reason"],
        },
        **_driver_fields(service),
    }


def service_view(service: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": service["id"],
        "binary": "nova-compute",
        "host": service["host"],
        "zone": "nova",
        "status": service["status"],
        "state": service["state"],
        "updated_at": _iso(service["last_heartbeat"] or service["updated_at"]),
        "disabled_reason": service["disabled_reason"],
        "forced_down": False,
        **_driver_fields(service),
    }


def attachment_view(server_id: str, device: str, volume_id: str) -> dict[str, Any]:
    return {"id": volume_id, "serverId": server_id, "volumeId": volume_id, "device": device}
