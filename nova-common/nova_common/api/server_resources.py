"""A server's sub-resources: ``metadata``, ``tags`` (2.26), ``ips`` and
``os-instance-actions``."""

from __future__ import annotations

from typing import Any

from nova_common.api import schemas, views
from nova_common.api.common import Fault, Request, Response, Route, parse_body, validate
from nova_common.api.servers import SERVER, ServersController
from nova_common.compute import exceptions as core_exc

#: The core's action names -> Nova's (nova.compute.instance_actions).
ACTION_NAMES = {
    "create": "create",
    "delete": "delete",
    "reboot": "reboot",
    "reboot_hard": "reboot",
    "stop": "stop",
    "start": "start",
    "pause": "pause",
    "unpause": "unpause",
    "suspend": "suspend",
    "resume": "resume",
    "snapshot": "createImage",
    "attach_volume": "attach_volume",
    "detach_volume": "detach_volume",
}


class ServerResourcesController:
    def __init__(self, compute: Any, servers: ServersController) -> None:
        self.compute = compute
        self.servers = servers

    def routes(self) -> list[Route]:
        meta = SERVER + "/metadata/(?P<key>[^/]+)"
        tag = SERVER + "/tags/(?P<tag>[^/]+)"
        return [
            ("GET", SERVER + "/metadata", self.list_metadata),
            ("PUT", SERVER + "/metadata", self.replace_metadata),
            ("POST", SERVER + "/metadata", self.update_metadata),
            ("GET", meta, self.show_metadata_item),
            ("PUT", meta, self.set_metadata_item),
            ("DELETE", meta, self.delete_metadata_item),
            ("GET", SERVER + "/tags", self.list_tags),
            ("PUT", SERVER + "/tags", self.replace_tags),
            ("DELETE", SERVER + "/tags", self.delete_tags),
            ("GET", tag, self.check_tag),
            ("PUT", tag, self.add_tag),
            ("DELETE", tag, self.delete_tag),
            ("GET", SERVER + "/ips", self.list_ips),
            ("GET", SERVER + "/ips/(?P<network>[^/]+)", self.show_ips),
            ("GET", SERVER + "/os-instance-actions", self.list_actions),
            ("GET", SERVER + "/os-instance-actions/(?P<request_id>[^/]+)", self.show_action),
        ]

    # -- metadata --------------------------------------------------------------------

    def _set_metadata(self, server_id: str, metadata: dict[str, str]) -> dict[str, str]:
        if len(metadata) > schemas.MAX_METADATA_ITEMS:
            raise Fault(
                403,
                f"Quota exceeded for resources: ['metadata_items'] (at most {schemas.MAX_METADATA_ITEMS})",
            )
        return self.compute.update(server_id, metadata=metadata)["metadata"]

    def list_metadata(self, request: Request, server_id: str) -> Response:
        return Response(200, {"metadata": dict(self.servers.row(server_id)["metadata"])})

    def replace_metadata(self, request: Request, server_id: str) -> Response:
        body = parse_body(request, schemas.METADATA_SET)
        self.servers.row(server_id)
        return Response(200, {"metadata": self._set_metadata(server_id, body["metadata"])})

    def update_metadata(self, request: Request, server_id: str) -> Response:
        body = parse_body(request, schemas.METADATA_SET)
        current = self.servers.row(server_id)["metadata"]
        return Response(200, {"metadata": self._set_metadata(server_id, {**current, **body["metadata"]})})

    def show_metadata_item(self, request: Request, server_id: str, key: str) -> Response:
        metadata = self.servers.row(server_id)["metadata"]
        if key not in metadata:
            raise Fault(404, f"Metadata item was not found: {key}")
        return Response(200, {"meta": {key: metadata[key]}})

    def set_metadata_item(self, request: Request, server_id: str, key: str) -> Response:
        body = parse_body(request, schemas.METADATA_ITEM)
        if key not in body["meta"]:
            raise Fault(400, "Request body and URI mismatch")
        current = self.servers.row(server_id)["metadata"]
        self._set_metadata(server_id, {**current, key: body["meta"][key]})
        return Response(200, {"meta": {key: body["meta"][key]}})

    def delete_metadata_item(self, request: Request, server_id: str, key: str) -> Response:
        current = dict(self.servers.row(server_id)["metadata"])
        if current.pop(key, None) is None:
            raise Fault(404, f"Metadata item was not found: {key}")
        self._set_metadata(server_id, current)
        return Response(204)

    # -- tags (2.26) -------------------------------------------------------------------

    def _tags(self, request: Request, server_id: str) -> list[str]:
        if not request.at_least(2, 26):
            raise Fault(404, "Server tags need microversion 2.26 or later")
        return list(self.servers.row(server_id).get("tags") or [])

    def _set_tags(self, server_id: str, tags: list[str]) -> list[str]:
        if len(tags) > schemas.MAX_TAGS:
            raise Fault(400, f"The number of tags exceeded the per-server limit {schemas.MAX_TAGS}")
        return list(self.compute.update(server_id, tags=tags)["tags"] or [])

    def list_tags(self, request: Request, server_id: str) -> Response:
        return Response(200, {"tags": self._tags(request, server_id)})

    def replace_tags(self, request: Request, server_id: str) -> Response:
        self._tags(request, server_id)
        body = parse_body(request, schemas.TAGS_SET)
        return Response(200, {"tags": self._set_tags(server_id, body["tags"])})

    def delete_tags(self, request: Request, server_id: str) -> Response:
        self._tags(request, server_id)
        self._set_tags(server_id, [])
        return Response(204)

    def check_tag(self, request: Request, server_id: str, tag: str) -> Response:
        if tag not in self._tags(request, server_id):
            raise Fault(404, f"Tag {tag} could not be found for server {server_id}")
        return Response(204)

    def add_tag(self, request: Request, server_id: str, tag: str) -> Response:
        tags = self._tags(request, server_id)
        validate(tag, schemas.TAG)
        url = f"{request.base}/servers/{server_id}/tags/{tag}"
        if tag in tags:
            return Response(204, None, {"Location": url})
        self._set_tags(server_id, [*tags, tag])
        return Response(201, None, {"Location": url})

    def delete_tag(self, request: Request, server_id: str, tag: str) -> Response:
        tags = self._tags(request, server_id)
        if tag not in tags:
            raise Fault(404, f"Tag {tag} could not be found for server {server_id}")
        self._set_tags(server_id, [t for t in tags if t != tag])
        return Response(204)

    # -- ips ---------------------------------------------------------------------------

    def list_ips(self, request: Request, server_id: str) -> Response:
        return Response(200, {"addresses": self._addresses(server_id)})

    def show_ips(self, request: Request, server_id: str, network: str) -> Response:
        addresses = self._addresses(server_id)
        if network not in addresses:
            raise Fault(404, f"Instance is not a member of specified network {network}")
        return Response(200, {network: addresses[network]})

    def _addresses(self, server_id: str) -> dict[str, list[dict[str, Any]]]:
        # os-ips shows version and addr only (Nova's address view without extend_address).
        return {
            network: [{"version": a["version"], "addr": a["addr"]} for a in items]
            for network, items in views.addresses(self.servers.row(server_id)).items()
        }

    # -- instance actions ----------------------------------------------------------------

    def _actions(self, request: Request, server_id: str) -> list[dict[str, Any]]:
        try:
            actions = self.compute.actions(server_id)
        except core_exc.NotFound:
            actions = []
        if not actions:
            raise Fault(404, f"Instance {server_id} could not be found.")
        if not request.at_least(2, 21):
            # 2.21: the actions of a deleted server are readable; before, 404.
            self.servers.row(server_id)
        return actions

    def list_actions(self, request: Request, server_id: str) -> Response:
        actions = [action_view(server_id, a) for a in reversed(self._actions(request, server_id))]
        return Response(200, {"instanceActions": actions})

    def show_action(self, request: Request, server_id: str, request_id: str) -> Response:
        for action in self._actions(request, server_id):
            if action["request_id"] == request_id:
                return Response(200, {"instanceAction": action_view(server_id, action, events=True)})
        raise Fault(404, f"Action {request_id} on instance {server_id} could not be found.")


def action_view(server_id: str, action: dict[str, Any], events: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": ACTION_NAMES.get(action["action"], action["action"]),
        "instance_uuid": server_id,
        "message": None if action["result"] in (None, "success") else action["message"],
        "project_id": "",
        "request_id": action["request_id"],
        "start_time": views.iso(action["start_time"]),
        "user_id": "",
    }
    if events:
        # The core records one step per action: it is the action's one event.
        finished = action["finish_time"] is not None
        body["events"] = [
            {
                "event": f"compute_{action['action']}",
                "start_time": views.iso(action["start_time"]),
                "finish_time": views.iso(action["finish_time"]) if finished else None,
                "result": None if not finished else "Success" if action["result"] == "success" else "Error",
                "traceback": None if action["result"] in (None, "success") else action["message"],
            }
        ]
    return body
