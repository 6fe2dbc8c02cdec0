"""``/flavors`` and ``/images`` (the image proxy: gone from 2.36 on, as in Nova)."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from nova_common.api import schemas, views
from nova_common.api.common import Fault, Request, Response, Route, is_ascii_digits, page_body, parse_body
from nova_common.compute import exceptions as core_exc

#: The last microversion with the image proxy (Nova's MAX_PROXY_API_SUPPORT_VERSION).
MAX_PROXY_VERSION = (2, 35)


class CatalogController:
    def __init__(self, compute: Any) -> None:
        self.compute = compute

    def routes(self) -> list[Route]:
        return [
            ("GET", r"/flavors", self.list_flavors),
            ("POST", r"/flavors", self.create_flavor),
            ("GET", r"/flavors/detail", self.list_flavors_detail),
            ("GET", r"/flavors/(?P<flavor_id>[^/]+)", self.show_flavor),
            ("DELETE", r"/flavors/(?P<flavor_id>[^/]+)", self.delete_flavor),
            ("GET", r"/images", self.list_images),
            ("GET", r"/images/detail", self.list_images_detail),
            ("GET", r"/images/(?P<image_id>[^/]+)", self.show_image),
        ]

    # -- flavors ---------------------------------------------------------------------

    def _flavors(self, request: Request) -> list[dict[str, Any]]:
        flavors = self.compute.flavors()
        for param, key in (("minRam", "memory_mb"), ("minDisk", "root_gb")):
            value = request.GET.get(param)
            if value is not None:
                if not is_ascii_digits(value):
                    raise Fault(400, f"Invalid {param} filter [{value}]")
                flavors = [f for f in flavors if f[key] >= int(value)]
        return flavors

    def list_flavors(self, request: Request) -> Response:
        render = lambda f: views.flavor_brief(request.base, f)  # noqa: E731
        return Response(
            200, page_body(request, "flavors", self._flavors(request), lambda f: f["flavorid"], render)
        )

    def list_flavors_detail(self, request: Request) -> Response:
        render = lambda f: views.flavor_detail(request.base, f)  # noqa: E731
        body = page_body(
            request, "flavors", self._flavors(request), lambda f: f["flavorid"], render, "flavors/detail"
        )
        return Response(200, body)

    def _flavor(self, flavor_id: str) -> dict[str, Any]:
        for flavor in self.compute.flavors():
            if flavor["flavorid"] == flavor_id:
                return flavor
        raise Fault(404, f"Flavor {flavor_id} could not be found.")

    def show_flavor(self, request: Request, flavor_id: str) -> Response:
        return Response(200, {"flavor": views.flavor_detail(request.base, self._flavor(flavor_id))})

    def create_flavor(self, request: Request) -> Response:
        body = parse_body(request, schemas.FLAVOR_CREATE)["flavor"]
        flavor = self.compute.create_flavor(
            body["name"],
            vcpus=int(body["vcpus"]),
            memory_mb=int(body["ram"]),
            root_gb=int(body["disk"]),
            flavorid=body.get("id") or str(uuidlib.uuid4()),
            ephemeral_gb=int(body.get("OS-FLV-EXT-DATA:ephemeral", 0)),
            swap_mb=int(body.get("swap", 0) or 0),
        )
        return Response(200, {"flavor": views.flavor_detail(request.base, flavor)})

    def delete_flavor(self, request: Request, flavor_id: str) -> Response:
        self._flavor(flavor_id)
        self.compute.delete_flavor(flavor_id)
        return Response(202)

    # -- images --------------------------------------------------------------------------

    def _images(self, request: Request) -> list[dict[str, Any]]:
        if request.version > MAX_PROXY_VERSION:
            raise Fault(404, "The image proxy API is gone from microversion 2.36 on: use the image service")
        images = [i for i in self.compute.images() if i["status"] != "deleted"]
        name = request.GET.get("name")
        if name:
            images = [i for i in images if i["name"] == name]
        status = request.GET.get("status")
        if status:
            images = [i for i in images if i["status"].upper() == status.upper()]
        return images

    def list_images(self, request: Request) -> Response:
        render = lambda i: views.image_brief(request.base, i)  # noqa: E731
        return Response(200, page_body(request, "images", self._images(request), lambda i: i["id"], render))

    def list_images_detail(self, request: Request) -> Response:
        render = lambda i: views.image_detail(request.base, i)  # noqa: E731
        body = page_body(request, "images", self._images(request), lambda i: i["id"], render, "images/detail")
        return Response(200, body)

    def show_image(self, request: Request, image_id: str) -> Response:
        if request.version > MAX_PROXY_VERSION:
            raise Fault(404, "The image proxy API is gone from microversion 2.36 on: use the image service")
        try:
            image = self.compute.show_image(image_id)
        except core_exc.NotFound:
            raise Fault(404, f"Image {image_id} could not be found.") from None
        return Response(200, {"image": views.image_detail(request.base, image)})
