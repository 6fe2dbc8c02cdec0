"""``/servers``: list, show, create, update, delete, actions and volume attachments."""

from __future__ import annotations

import json
import uuid as uuidlib
from typing import Any

from nova_common.api import name_filter, schemas, server_list, views
from nova_common.api.common import (
    Fault,
    Request,
    Response,
    Route,
    client_request_id,
    next_links,
    page_body,
    paginate,
    parse_body,
    parse_json,
    validate,
)
from nova_common.compute import exceptions as core_exc

SERVER = r"/servers/(?P<server_id>[^/]+)"


class ServersController:
    def __init__(self, compute: Any) -> None:
        self.compute = compute
        self.cache = server_list.ServerListCache(compute)

    def routes(self) -> list[Route]:
        return [
            ("GET", r"/servers", self.index),
            ("POST", r"/servers", self.create),
            ("GET", r"/servers/detail", self.detail),
            ("GET", SERVER, self.show),
            ("PUT", SERVER, self.update),
            ("DELETE", SERVER, self.delete),
            ("POST", SERVER + "/action", self.action),
            ("GET", SERVER + "/os-volume_attachments", self.list_attachments),
            ("POST", SERVER + "/os-volume_attachments", self.attach_volume),
            ("GET", SERVER + "/os-volume_attachments/(?P<volume_id>[^/]+)", self.show_attachment),
            ("DELETE", SERVER + "/os-volume_attachments/(?P<volume_id>[^/]+)", self.detach_volume),
        ]

    # -- reading -------------------------------------------------------------------

    def row(self, server_id: str) -> dict[str, Any]:
        try:
            return self.compute.show(server_id)
        except core_exc.NotFound:
            raise Fault(404, f"Instance {server_id} could not be found.") from None

    def render(
        self, request: Request, rows: list[dict[str, Any]], reduced: bool = False
    ) -> list[dict[str, Any]]:
        catalog = views.Catalog(self.compute.flavors())
        services = None
        if request.at_least(2, 16) and not reduced:
            services = {s["host"]: s for s in self.compute.services()}
        return [
            views.server_detail(request.base, r, catalog, request.version, services, reduced) for r in rows
        ]

    def _stamps(self, request: Request) -> list[list[Any]]:
        """The instances the filters select, newest first, as stamps (server_list)."""
        stamps = self.cache.stamps(host=request.GET.get("host") or None)
        name = request.GET.get("name")
        if name:
            stamps = name_filter.matching(name, stamps, key=lambda s: s[server_list.NAME])
        status = request.GET.get("status")
        if status:
            wanted = status.upper()
            if wanted not in views.STATUSES:
                if request.at_least(2, 38):
                    raise Fault(400, f"Invalid status value {status}")
                return []  # before 2.38 Nova answers an unknown status with no servers
            stamps = [
                s
                for s in stamps
                if views.server_status(s[server_list.VM_STATE], s[server_list.TASK_STATE]) == wanted
            ]
        if request.at_least(2, 26):
            stamps = self._tag_filters(request, stamps)
        # Newest first, as Nova sorts by created_at desc by default.
        stamps.reverse()
        return stamps

    def _tag_filters(self, request: Request, stamps: list[list[Any]]) -> list[list[Any]]:
        """2.26: ``tags`` (all of), ``tags-any``, ``not-tags`` (not all of), ``not-tags-any``."""
        filters = {
            name: set(request.GET[name].split(","))
            for name in ("tags", "tags-any", "not-tags", "not-tags-any")
            if request.GET.get(name)
        }
        if not filters:
            return stamps
        tags_of = {r["uuid"]: set(r.get("tags") or []) for _, r in self.cache.rows(stamps)}

        def wanted(tags: set[str]) -> bool:
            return (
                filters.get("tags", set()) <= tags
                and (not filters.get("tags-any") or bool(filters["tags-any"] & tags))
                and (not filters.get("not-tags") or not filters["not-tags"] <= tags)
                and not (filters.get("not-tags-any", set()) & tags)
            )

        return [s for s in stamps if s[server_list.UUID] in tags_of and wanted(tags_of[s[server_list.UUID]])]

    def index(self, request: Request) -> Response:
        base = request.base
        body = page_body(
            request,
            "servers",
            self._stamps(request),
            lambda s: s[server_list.UUID],
            lambda s: views.server_brief(base, {"uuid": s[server_list.UUID], "name": s[server_list.NAME]}),
        )
        return Response(200, body)

    def detail(self, request: Request) -> Response:
        page, following = paginate(request, self._stamps(request), lambda s: s[server_list.UUID])
        entries = self.cache.rows(page)
        catalog = views.Catalog(self.compute.flavors())
        services = None
        if request.at_least(2, 16):
            services = {s["host"]: s for s in self.compute.services()}
        bodies = self.cache.bodies(entries, request.base, request.version, catalog, services)
        raw = b'{"servers": [' + b", ".join(bodies) + b"]"
        links = next_links(request, "servers/detail", following)
        if links:
            raw += b', "servers_links": ' + json.dumps(links).encode()
        return Response(200, raw=raw + b"}")

    def show(self, request: Request, server_id: str) -> Response:
        return Response(200, {"server": self.render(request, [self.row(server_id)])[0]})

    # -- writing -----------------------------------------------------------------------

    @staticmethod
    def _ref(value: Any) -> str:
        """A flavorRef/imageRef: an id, or a link whose last segment is the id."""
        return str(value).rstrip("/").rsplit("/", 1)[-1]

    def create(self, request: Request) -> Response:
        body = parse_body(request, schemas.server_create(request.version))["server"]
        if len(body.get("metadata") or {}) > schemas.MAX_METADATA_ITEMS:
            raise Fault(
                403,
                f"Quota exceeded for resources: ['metadata_items'] (at most {schemas.MAX_METADATA_ITEMS})",
            )
        key_name = body.get("key_name")
        if key_name is not None:
            try:
                self.compute.show_keypair(key_name)
            except core_exc.NotFound:
                raise Fault(400, "Invalid key_name provided.") from None
        try:
            accepted = self.compute.create(
                body["name"],
                flavor=self._ref(body["flavorRef"]),
                image=self._ref(body["imageRef"]),
                metadata=body.get("metadata"),
                wait=False,
                description=body.get("description"),
                key_name=key_name,
                request_id=client_request_id(request),
            )
        except core_exc.NotFound as error:
            # Nova answers a bad flavorRef/imageRef with 400.
            raise Fault(400, str(error)) from None
        server = {
            "id": accepted["uuid"],
            "links": views.link(request.base, "servers", accepted["uuid"]),
            "OS-DCF:diskConfig": body.get("OS-DCF:diskConfig", "MANUAL"),
            "security_groups": [{"name": "default"}],
            "adminPass": uuidlib.uuid4().hex[:12],
        }
        return Response(202, {"server": server}, {"Location": server["links"][0]["href"]})

    def update(self, request: Request, server_id: str) -> Response:
        body = parse_body(request, schemas.server_update(request.version))["server"]
        self.row(server_id)
        values = {k: body[k] for k in ("name", "description") if k in body}
        row = self.compute.update(server_id, **values) if values else self.row(server_id)
        return Response(200, {"server": self.render(request, [row], reduced=True)[0]})

    def delete(self, request: Request, server_id: str) -> Response:
        self.row(server_id)
        self.compute.delete(server_id, wait=False)
        return Response(204)

    def action(self, request: Request, server_id: str) -> Response:
        body = parse_json(request)
        if not isinstance(body, dict) or len(body) != 1:
            raise Fault(400, "The action body must be an object with exactly one action")
        (action,) = body
        schema = schemas.ACTION_SCHEMAS.get(action)
        if schema is None:
            raise Fault(400, f"There is no such action: {action}")
        validate(body, schema)
        self.row(server_id)
        args = body[action]
        if action == "reboot":
            self.compute.reboot(server_id, reboot_type=args["type"].lower(), wait=False)
            return Response(202)
        if action == "createImage":
            accepted = self.compute.snapshot(server_id, args["name"], wait=False)
            image_id = accepted.get("image_id")
            if request.at_least(2, 45):
                # 2.45: the image id in the body instead of a Location header.
                return Response(202, {"image_id": image_id})
            headers = {"Location": f"{request.base}/images/{image_id}"} if image_id else {}
            return Response(202, None, headers)
        method = getattr(self.compute, schemas.ACTIONS_WITHOUT_ARGS[action])
        method(server_id, wait=False)
        return Response(202)

    # -- volume attachments -----------------------------------------------------------

    def list_attachments(self, request: Request, server_id: str) -> Response:
        row = self.row(server_id)
        attachments = [
            views.attachment_view(server_id, device, volume_id)
            for device, volume_id in sorted(row["volumes"].items())
        ]
        return Response(200, {"volumeAttachments": attachments})

    def show_attachment(self, request: Request, server_id: str, volume_id: str) -> Response:
        row = self.row(server_id)
        for device, attached in row["volumes"].items():
            if attached == volume_id:
                return Response(
                    200, {"volumeAttachment": views.attachment_view(server_id, device, volume_id)}
                )
        raise Fault(404, f"Volume {volume_id} is not attached to server {server_id}")

    def attach_volume(self, request: Request, server_id: str) -> Response:
        body = parse_body(request, schemas.VOLUME_ATTACH)["volumeAttachment"]
        row = self.row(server_id)
        volume_id = body["volumeId"].lower()
        if volume_id in row["volumes"].values():
            raise Fault(409, f"Volume {volume_id} is already attached to server {server_id}")
        device = body.get("device") or self._next_device(row["volumes"])
        # Waits for the attach: Nova lists an attachment as soon as its POST answered
        # (the block device mapping is created synchronously), and clients rely on it.
        self.compute.attach_volume(server_id, volume_id, device, wait=True)
        return Response(200, {"volumeAttachment": views.attachment_view(server_id, device, volume_id)})

    @staticmethod
    def _next_device(volumes: dict[str, str]) -> str:
        for letter in "bcdefghijklmnopqrstuvwxyz":
            if f"/dev/vd{letter}" not in volumes:
                return f"/dev/vd{letter}"
        raise Fault(400, "No free device name")

    def detach_volume(self, request: Request, server_id: str, volume_id: str) -> Response:
        row = self.row(server_id)
        if volume_id not in row["volumes"].values():
            raise Fault(404, f"Volume {volume_id} is not attached to server {server_id}")
        self.compute.detach_volume(server_id, volume_id, wait=False)
        return Response(202)
