"""``GET /limits``: the absolute limits and their use. There are no quotas
here, so every limit is -1 (unlimited, as Nova reports it) except those Nova
enforces as API rules: server metadata items and personality files."""

from __future__ import annotations

from typing import Any

from nova_common.api import schemas
from nova_common.api.common import Request, Response, Route

UNLIMITED = -1


class LimitsController:
    def __init__(self, compute: Any) -> None:
        self.compute = compute

    def routes(self) -> list[Route]:
        return [("GET", r"/limits", self.show)]

    def show(self, request: Request) -> Response:
        rows = self.compute.list()
        absolute: dict[str, int] = {
            "maxTotalInstances": UNLIMITED,
            "maxTotalCores": UNLIMITED,
            "maxTotalRAMSize": UNLIMITED,
            "maxServerMeta": schemas.MAX_METADATA_ITEMS,
            "maxPersonality": 5,
            "maxPersonalitySize": 10240,
            "maxTotalKeypairs": UNLIMITED,
            "maxServerGroups": UNLIMITED,
            "maxServerGroupMembers": UNLIMITED,
            "totalInstancesUsed": len(rows),
            "totalCoresUsed": sum(r["vcpus"] for r in rows),
            "totalRAMUsed": sum(r["memory_mb"] for r in rows),
            "totalServerGroupsUsed": 0,
        }
        if not request.at_least(2, 36):
            # 2.36 dropped the network proxies' limits.
            absolute.update(
                maxSecurityGroups=UNLIMITED,
                maxSecurityGroupRules=UNLIMITED,
                maxTotalFloatingIps=UNLIMITED,
                totalSecurityGroupsUsed=0,
                totalFloatingIpsUsed=0,
            )
        if not request.at_least(2, 39):
            absolute["maxImageMeta"] = schemas.MAX_METADATA_ITEMS  # 2.39 dropped the image-metadata proxy
        return Response(200, {"limits": {"absolute": absolute, "rate": []}})
