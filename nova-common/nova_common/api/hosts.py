"""The hosts: ``os-hypervisors`` (with statistics, uptime, search, servers),
``os-services``, ``os-availability-zone`` and, this system's own addition,
``os-compute-drivers`` (the driver release, virt contract versions and
capabilities of each host, which Nova's bodies have no place for)."""

from __future__ import annotations

import datetime
from typing import Any

from nova_common.api import views
from nova_common.api.common import Fault, Request, Response, Route, page_body

HYPERVISOR = r"/os-hypervisors/(?P<hypervisor_id>[^/]+)"
ZONE = "nova"


class HostsController:
    def __init__(self, compute: Any) -> None:
        self.compute = compute

    def routes(self) -> list[Route]:
        return [
            ("GET", r"/os-hypervisors", self.list_hypervisors),
            ("GET", r"/os-hypervisors/detail", self.list_hypervisors_detail),
            ("GET", r"/os-hypervisors/statistics", self.statistics),
            ("GET", HYPERVISOR, self.show_hypervisor),
            ("GET", HYPERVISOR + "/uptime", self.uptime),
            ("GET", r"/os-hypervisors/(?P<pattern>[^/]+)/search", self.search),
            ("GET", r"/os-hypervisors/(?P<pattern>[^/]+)/servers", self.servers),
            ("GET", r"/os-services", self.list_services),
            ("GET", r"/os-availability-zone", self.zones),
            ("GET", r"/os-availability-zone/detail", self.zones_detail),
            ("GET", r"/os-compute-drivers", self.list_drivers),
            ("GET", r"/os-compute-drivers/(?P<host>[^/]+)", self.show_driver),
        ]

    def _running(self) -> dict[str, list[dict[str, Any]]]:
        by_host: dict[str, list[dict[str, Any]]] = {}
        for row in self.compute.list():
            if row["host"]:
                by_host.setdefault(row["host"], []).append(row)
        return by_host

    def _service(self, ref: str) -> dict[str, Any]:
        """A hypervisor by id, or by the host name ``hypervisor list`` prints."""
        for service in self.compute.services():
            if str(service["id"]) == ref or service["host"] == ref or service["hypervisor_hostname"] == ref:
                return service
        raise Fault(404, f"Hypervisor with ID {ref} could not be found.")

    def _page(self, request: Request, render: Any) -> dict[str, Any]:
        services = self.compute.services()
        if not request.at_least(2, 33):
            return {"hypervisors": [render(s) for s in services]}
        # 2.33: limit and marker (a hypervisor id), hypervisors_links.
        return page_body(request, "hypervisors", services, lambda s: str(s["id"]), render)

    def list_hypervisors(self, request: Request) -> Response:
        return Response(200, self._page(request, views.hypervisor_brief))

    def list_hypervisors_detail(self, request: Request) -> Response:
        running = self._running()
        body = self._page(
            request, lambda s: views.hypervisor_detail(s, len(running.get(s["host"], [])), request.version)
        )
        if "hypervisors_links" in body:
            body["hypervisors_links"][0]["href"] = body["hypervisors_links"][0]["href"].replace(
                "/os-hypervisors?", "/os-hypervisors/detail?"
            )
        return Response(200, body)

    def show_hypervisor(self, request: Request, hypervisor_id: str) -> Response:
        service = self._service(hypervisor_id)
        running = len(self._running().get(service["host"], []))
        return Response(200, {"hypervisor": views.hypervisor_detail(service, running, request.version)})

    def statistics(self, request: Request) -> Response:
        running = self._running()
        details = [
            views.hypervisor_detail(s, len(running.get(s["host"], []))) for s in self.compute.services()
        ]
        keys = (
            "current_workload",
            "disk_available_least",
            "free_disk_gb",
            "free_ram_mb",
            "local_gb",
            "local_gb_used",
            "memory_mb",
            "memory_mb_used",
            "running_vms",
            "vcpus",
            "vcpus_used",
        )
        stats = {key: sum(d[key] for d in details) for key in keys}
        return Response(200, {"hypervisor_statistics": {"count": len(details), **stats}})

    def uptime(self, request: Request, hypervisor_id: str) -> Response:
        service = self._service(hypervisor_id)
        return Response(200, {"hypervisor": {**views.hypervisor_brief(service), "uptime": _uptime(service)}})

    def _matching(self, pattern: str) -> list[dict[str, Any]]:
        # Nova matches hypervisor_hostname with SQL LIKE '%pattern%'.
        found = [s for s in self.compute.services() if pattern in (s["hypervisor_hostname"] or s["host"])]
        if not found:
            raise Fault(404, f"No hypervisor matching '{pattern}' could be found.")
        return found

    def search(self, request: Request, pattern: str) -> Response:
        return Response(200, {"hypervisors": [views.hypervisor_brief(s) for s in self._matching(pattern)]})

    def servers(self, request: Request, pattern: str) -> Response:
        running = self._running()
        hypervisors = []
        for service in self._matching(pattern):
            body = views.hypervisor_brief(service)
            rows = running.get(service["host"], [])
            if rows:
                body["servers"] = [{"uuid": r["uuid"], "name": f"instance-{r['uuid']}"} for r in rows]
            hypervisors.append(body)
        return Response(200, {"hypervisors": hypervisors})

    def list_services(self, request: Request) -> Response:
        services = self.compute.services()
        host = request.GET.get("host")
        if host:
            services = [s for s in services if s["host"] == host]
        binary = request.GET.get("binary")
        if binary and binary != "nova-compute":
            services = []
        return Response(200, {"services": [views.service_view(s, request.version) for s in services]})

    def zones(self, request: Request) -> Response:
        available = any(s["state"] == "up" and s["status"] == "enabled" for s in self.compute.services())
        return Response(
            200,
            {
                "availabilityZoneInfo": [
                    {"zoneName": ZONE, "zoneState": {"available": available}, "hosts": None}
                ]
            },
        )

    def zones_detail(self, request: Request) -> Response:
        services = self.compute.services()
        hosts = {
            s["host"]: {
                "nova-compute": {
                    "available": s["state"] == "up",
                    "active": s["status"] == "enabled",
                    "updated_at": views.iso(s["last_heartbeat"] or s["updated_at"]),
                }
            }
            for s in services
        }
        available = any(s["state"] == "up" and s["status"] == "enabled" for s in services)
        zone = {"zoneName": ZONE, "zoneState": {"available": available}, "hosts": hosts or None}
        return Response(200, {"availabilityZoneInfo": [zone]})

    def list_drivers(self, request: Request) -> Response:
        return Response(200, {"compute_drivers": [views.compute_driver(s) for s in self.compute.services()]})

    def show_driver(self, request: Request, host: str) -> Response:
        return Response(200, {"compute_driver": views.compute_driver(self._service(host))})


def _uptime(service: dict[str, Any]) -> str:
    """``uptime``'s first fields for the compute service: how long since it
    registered (the virt contract has no host uptime call)."""
    started = datetime.datetime.fromisoformat(service["created_at"])
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    seconds = max(0, int((now - started).total_seconds()))
    days, rest = divmod(seconds, 86400)
    return f" {now:%H:%M:%S} up {days} days, {rest // 3600}:{rest % 3600 // 60:02d}"
