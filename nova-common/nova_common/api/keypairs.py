"""``/os-keypairs``: 2.2 adds ``type`` and the 201/204 statuses, 2.10 ``user_id``
(an admin naming another user), 2.35 ``limit`` and ``marker``."""

from __future__ import annotations

from typing import Any

from nova_common.api import schemas, views
from nova_common.api.common import Request, Response, Route, page_body, parse_body


class KeypairsController:
    def __init__(self, compute: Any) -> None:
        self.compute = compute

    def routes(self) -> list[Route]:
        return [
            ("GET", r"/os-keypairs", self.index),
            ("POST", r"/os-keypairs", self.create),
            ("GET", r"/os-keypairs/(?P<name>[^/]+)", self.show),
            ("DELETE", r"/os-keypairs/(?P<name>[^/]+)", self.delete),
        ]

    @staticmethod
    def _user(request: Request, body: dict[str, Any] | None = None) -> str | None:
        if not request.at_least(2, 10):
            return None
        return (body or {}).get("user_id") or request.GET.get("user_id")

    @staticmethod
    def _view(request: Request, keypair: dict[str, Any], full: bool = False) -> dict[str, Any]:
        body = {k: keypair[k] for k in ("name", "public_key", "fingerprint")}
        if request.at_least(2, 2):
            body["type"] = keypair["type"]
        if full:
            body.update(
                user_id=keypair["user_id"],
                deleted=False,
                created_at=views.iso(keypair["created_at"]),
                updated_at=None,
                deleted_at=None,
                id=keypair["id"],
            )
        return body

    def index(self, request: Request) -> Response:
        keypairs = self.compute.keypairs(self._user(request))
        if request.at_least(2, 35):
            body = page_body(
                request,
                "keypairs",
                keypairs,
                lambda k: k["name"],
                lambda k: {"keypair": self._view(request, k)},
            )
            return Response(200, body)
        return Response(200, {"keypairs": [{"keypair": self._view(request, k)} for k in keypairs]})

    def create(self, request: Request) -> Response:
        body = parse_body(request, schemas.keypair_create(request.version))["keypair"]
        created = self.compute.create_keypair(
            body["name"], body.get("public_key"), body.get("type", "ssh"), self._user(request, body)
        )
        view = {**self._view(request, created), "user_id": created["user_id"]}
        if "private_key" in created:
            view["private_key"] = created["private_key"]
        return Response(201 if request.at_least(2, 2) else 200, {"keypair": view})

    def show(self, request: Request, name: str) -> Response:
        keypair = self.compute.show_keypair(name, self._user(request))
        return Response(200, {"keypair": self._view(request, keypair, full=True)})

    def delete(self, request: Request, name: str) -> Response:
        self.compute.delete_keypair(name, self._user(request))
        return Response(204 if request.at_least(2, 2) else 202)
