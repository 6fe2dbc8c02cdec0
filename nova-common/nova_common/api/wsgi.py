"""The WSGI application of the compute REST API (a v2.1 subset).

Routing, microversions, authentication, body validation and the mapping of
the core's errors to faults all live here; handlers call a
:class:`~nova_common.compute.api.ComputeAPI` and render with
:mod:`nova_common.api.views`.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import jsonschema
import webob
from oslo_log import log as logging

from nova_common import __version__
from nova_common.api import schemas, views
from nova_common.compute import exceptions as core_exc

LOG = logging.getLogger(__name__)

MIN_VERSION = (2, 1)
#: The highest microversion honoured. Only 2.1 is implemented: every response
#: has the 2.1 shape, so advertising more would be a lie.
MAX_VERSION = (2, 1)
VERSION_HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version")
UPDATED = "2013-07-23T11:33:21Z"
DEFAULT_LIMIT = 1000

#: HTTP status -> the fault's key in the body (as nova.api.openstack.wsgi.Fault).
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}


class Fault(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def fault_for(error: Exception) -> Fault:
    """The one place the core's errors become HTTP faults."""
    if isinstance(error, Fault):
        return error
    if isinstance(error, core_exc.NotFound):
        return Fault(404, str(error))
    if isinstance(error, core_exc.Invalid):
        return Fault(400, str(error))
    if isinstance(error, core_exc.Conflict | core_exc.NoValidHost):
        # Conflict covers InstanceInvalidState, HostDown and OperationNotSupported.
        # NoValidHost: the core refuses at once what no host can take (Nova would
        # accept and then set ERROR); the request is valid, just not now.
        return Fault(409, str(error))
    if isinstance(error, core_exc.Timeout):
        return Fault(503, str(error))
    if isinstance(error, core_exc.OperationFailed):
        return Fault(500, str(error))
    LOG.exception("Unexpected error in the API")
    return Fault(500, "Unexpected API Error. Please check the API logs. " + type(error).__name__)


def _fault_response(fault: Fault) -> webob.Response:
    name = FAULT_NAMES.get(fault.status, "computeFault")
    response = webob.Response(
        status=fault.status,
        content_type="application/json",
        charset="utf-8",
        body=json.dumps({name: {"code": fault.status, "message": fault.message}}).encode(),
    )
    for key, value in fault.headers.items():
        response.headers[key] = value
    return response


def _parse_version(text: str) -> tuple[int, int]:
    text = text.strip()
    if text == "latest":
        return MAX_VERSION
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    if not match:
        raise Fault(
            400, f"API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
        )
    return int(match.group(1)), int(match.group(2))


def requested_version(request: webob.Request) -> tuple[int, int]:
    value = request.headers.get("OpenStack-API-Version")
    text = None
    if value is not None:
        for item in value.split(","):
            service, _, version = item.strip().partition(" ")
            if service.lower() == "compute":
                text = version
    if text is None:
        text = request.headers.get("X-OpenStack-Nova-API-Version")
    if text is None:
        return MIN_VERSION
    version = _parse_version(text)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise Fault(
            406,
            f"Version {version[0]}.{version[1]} is not supported by the API. Minimum is "
            f"{MIN_VERSION[0]}.{MIN_VERSION[1]} and maximum is {MAX_VERSION[0]}.{MAX_VERSION[1]}.",
        )
    return version


def _v(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


class Request(webob.Request):
    version: tuple[int, int] = MIN_VERSION
    base: str = ""


Handler = Callable[..., Any]


class Response:
    """What a handler returns: status, body (dict or None), headers."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


class APIApplication:
    """The WSGI application. ``auth_token``: when set, every request but version
    discovery needs ``X-Auth-Token`` equal to it."""

    def __init__(self, compute: Any, auth_token: str | None = None, action_timeout: float = 60.0) -> None:
        self.compute = compute
        self.auth_token = auth_token
        self.action_timeout = action_timeout
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        add = self._route
        add("GET", r"/servers", self.list_servers)
        add("POST", r"/servers", self.create_server)
        add("GET", r"/servers/detail", self.list_servers_detail)
        add("GET", r"/servers/(?P<server_id>[^/]+)", self.show_server)
        add("DELETE", r"/servers/(?P<server_id>[^/]+)", self.delete_server)
        add("POST", r"/servers/(?P<server_id>[^/]+)/action", self.server_action)
        add("GET", r"/servers/(?P<server_id>[^/]+)/os-volume_attachments", self.list_attachments)
        add("POST", r"/servers/(?P<server_id>[^/]+)/os-volume_attachments", self.attach_volume)
        add(
            "GET",
            r"/servers/(?P<server_id>[^/]+)/os-volume_attachments/(?P<volume_id>[^/]+)",
            self.show_attachment,
        )
        add(
            "DELETE",
            r"/servers/(?P<server_id>[^/]+)/os-volume_attachments/(?P<volume_id>[^/]+)",
            self.detach_volume,
        )
        add("GET", r"/flavors", self.list_flavors)
        add("POST", r"/flavors", self.create_flavor)
        add("GET", r"/flavors/detail", self.list_flavors_detail)
        add("GET", r"/flavors/(?P<flavor_id>[^/]+)", self.show_flavor)
        add("GET", r"/images", self.list_images)
        add("GET", r"/images/detail", self.list_images_detail)
        add("GET", r"/images/(?P<image_id>[^/]+)", self.show_image)
        add("GET", r"/os-hypervisors", self.list_hypervisors)
        add("GET", r"/os-hypervisors/detail", self.list_hypervisors_detail)
        add("GET", r"/os-hypervisors/(?P<hypervisor_id>[^/]+)", self.show_hypervisor)
        add("GET", r"/os-services", self.list_services)
        add("GET", r"/?", self.show_version)

    def _route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + "$"), handler))

    # -- WSGI -------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except Exception as error:
            response = _fault_response(fault_for(error))
        if request.path_info.startswith("/v2.1"):
            version = _v(getattr(request, "version", MIN_VERSION))
            response.headers["OpenStack-API-Version"] = f"compute {version}"
            response.headers["X-OpenStack-Nova-API-Version"] = version
            response.headers["Vary"] = ", ".join(VERSION_HEADERS)
        response.headers["x-openstack-request-id"] = "req-" + uuidlib.uuid4().hex
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> webob.Response:
        path = request.path_info
        host_url = request.host_url + request.script_name
        if path in ("", "/"):
            if request.method != "GET":
                raise Fault(405, "Only GET is allowed on /")
            return self._json(300, {"versions": [self._version_doc(host_url + "/v2.1/")]})
        if not (path == "/v2.1" or path.startswith("/v2.1/")):
            raise Fault(404, f"Unknown resource {path}")
        request.version = requested_version(request)
        self._authenticate(request)
        request.base = host_url + "/v2.1"
        sub = path[len("/v2.1") :]
        allowed = []
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(sub)
            if match is None:
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                allowed.append(method)
                continue
            result: Response = handler(request, **match.groupdict())
            return self._json(result.status, result.body, result.headers)
        if allowed:
            raise Fault(405, f"{request.method} is not allowed on {sub}", {"Allow": ", ".join(allowed)})
        raise Fault(404, f"Unknown resource {sub}")

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> webob.Response:
        response = webob.Response(status=status)
        if body is not None:
            response.content_type = "application/json"
            response.charset = "utf-8"
            response.body = json.dumps(body).encode()
        else:
            response.content_type = None
            response.body = b""
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def _authenticate(self, request: Request) -> None:
        if self.auth_token is None:
            return
        token = request.headers.get("X-Auth-Token", "")
        if not hmac.compare_digest(token.encode(), self.auth_token.encode()):
            raise Fault(401, "The request you have made requires authentication.")

    @staticmethod
    def _version_doc(href: str) -> dict[str, Any]:
        return {
            "id": "v2.1",
            "status": "CURRENT",
            "version": _v(MAX_VERSION),
            "min_version": _v(MIN_VERSION),
            "updated": UPDATED,
            "links": [{"rel": "self", "href": href}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
            ],
        }

    def show_version(self, request: Request) -> Response:
        return Response(200, {"version": self._version_doc(request.base + "/")})

    # -- helpers ----------------------------------------------------------------

    @staticmethod
    def _body(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise Fault(400, "Malformed request body: not JSON") from None
        validate(body, schema)
        return body

    @staticmethod
    def _paginate(
        request: Request, items: list[dict[str, Any]], key: str, marker_of: Callable[[dict[str, Any]], str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Apply ``limit`` and ``marker``; returns the page and the next marker."""
        limit_text = request.GET.get("limit")
        limit = DEFAULT_LIMIT
        if limit_text is not None:
            if not limit_text.isdigit():
                raise Fault(400, f"Invalid input for query parameters limit. Value: {limit_text}.")
            limit = min(int(limit_text), DEFAULT_LIMIT)
        marker = request.GET.get("marker")
        if marker is not None:
            for index, item in enumerate(items):
                if marker_of(item) == marker:
                    items = items[index + 1 :]
                    break
            else:
                raise Fault(400, f"marker [{marker}] not found")
        page = items[:limit]
        full = bool(page) and len(page) == limit and (limit_text is not None or len(items) > limit)
        following = marker_of(page[-1]) if full else None
        return page, following

    @staticmethod
    def _next_links(request: Request, collection: str, following: str | None) -> list[dict[str, str]]:
        if following is None:
            return []
        params = [(k, v) for k, v in request.GET.items() if k != "marker"]
        params.append(("marker", following))
        query = "&".join(f"{webob.request.url_quote(k)}={webob.request.url_quote(v)}" for k, v in params)
        return [{"rel": "next", "href": f"{request.base}/{collection}?{query}"}]

    def _server_row(self, server_id: str) -> dict[str, Any]:
        try:
            return self.compute.show(server_id)
        except core_exc.NotFound:
            raise Fault(404, f"Instance {server_id} could not be found.") from None

    # -- servers --------------------------------------------------------------------

    def _servers(self, request: Request) -> list[dict[str, Any]]:
        rows = self.compute.list(host=request.GET.get("host") or None)
        name = request.GET.get("name")
        if name:
            try:
                pattern = re.compile(name)
            except re.error:
                raise Fault(400, f"Invalid regular expression for name: {name}") from None
            rows = [r for r in rows if pattern.search(r["name"])]
        status = request.GET.get("status")
        if status:
            wanted = status.upper()
            if wanted not in views.STATUSES:
                raise Fault(400, f"Invalid status value {status}")
            rows = [r for r in rows if views.server_status(r["vm_state"], r["task_state"]) == wanted]
        # Newest first, as Nova sorts by created_at desc by default.
        rows.reverse()
        return rows

    def list_servers(self, request: Request) -> Response:
        page, following = self._paginate(request, self._servers(request), "servers", lambda r: r["uuid"])
        body: dict[str, Any] = {"servers": [views.server_brief(request.base, r) for r in page]}
        links = self._next_links(request, "servers", following)
        if links:
            body["servers_links"] = links
        return Response(200, body)

    def list_servers_detail(self, request: Request) -> Response:
        page, following = self._paginate(request, self._servers(request), "servers", lambda r: r["uuid"])
        catalog = views.Catalog(self.compute.flavors())
        body: dict[str, Any] = {"servers": [views.server_detail(request.base, r, catalog) for r in page]}
        links = self._next_links(request, "servers/detail", following)
        if links:
            body["servers_links"] = links
        return Response(200, body)

    def show_server(self, request: Request, server_id: str) -> Response:
        row = self._server_row(server_id)
        catalog = views.Catalog(self.compute.flavors())
        return Response(200, {"server": views.server_detail(request.base, row, catalog)})

    @staticmethod
    def _ref(value: Any) -> str:
        """A flavorRef/imageRef: an id, or a link whose last segment is the id."""
        return str(value).rstrip("/").rsplit("/", 1)[-1]

    def create_server(self, request: Request) -> Response:
        body = self._body(request, schemas.SERVER_CREATE)["server"]
        flavor_ref = self._ref(body["flavorRef"])
        image_ref = self._ref(body["imageRef"])
        try:
            accepted = self.compute.create(
                body["name"], flavor=flavor_ref, image=image_ref, metadata=body.get("metadata"), wait=False
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

    def delete_server(self, request: Request, server_id: str) -> Response:
        self._server_row(server_id)
        self.compute.delete(server_id, wait=False)
        return Response(204)

    def server_action(self, request: Request, server_id: str) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise Fault(400, "Malformed request body: not JSON") from None
        if not isinstance(body, dict) or len(body) != 1:
            raise Fault(400, "The action body must be an object with exactly one action")
        (action,) = body
        schema = schemas.ACTION_SCHEMAS.get(action)
        if schema is None:
            raise Fault(400, f"There is no such action: {action}")
        validate(body, schema)
        self._server_row(server_id)
        args = body[action]
        if action == "reboot":
            self.compute.reboot(server_id, reboot_type=args["type"].lower(), wait=False)
            return Response(202)
        if action == "createImage":
            accepted = self.compute.snapshot(server_id, args["name"], wait=False)
            image_id = accepted.get("image_id")
            headers = {"Location": f"{request.base}/images/{image_id}"} if image_id else {}
            return Response(202, None, headers)
        method = getattr(self.compute, schemas.ACTIONS_WITHOUT_ARGS[action])
        method(server_id, wait=False)
        return Response(202)

    # -- volume attachments -----------------------------------------------------------

    def list_attachments(self, request: Request, server_id: str) -> Response:
        row = self._server_row(server_id)
        attachments = [
            views.attachment_view(server_id, device, volume_id)
            for device, volume_id in sorted(row["volumes"].items())
        ]
        return Response(200, {"volumeAttachments": attachments})

    def show_attachment(self, request: Request, server_id: str, volume_id: str) -> Response:
        row = self._server_row(server_id)
        for device, attached in row["volumes"].items():
            if attached == volume_id:
                return Response(
                    200, {"volumeAttachment": views.attachment_view(server_id, device, volume_id)}
                )
        raise Fault(404, f"Volume {volume_id} is not attached to server {server_id}")

    def attach_volume(self, request: Request, server_id: str) -> Response:
        body = self._body(request, schemas.VOLUME_ATTACH)["volumeAttachment"]
        row = self._server_row(server_id)
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
        row = self._server_row(server_id)
        if volume_id not in row["volumes"].values():
            raise Fault(404, f"Volume {volume_id} is not attached to server {server_id}")
        self.compute.detach_volume(server_id, volume_id, wait=False)
        return Response(202)

    # -- flavors -------------------------------------------------------------------------

    def _flavors(self, request: Request) -> list[dict[str, Any]]:
        flavors = self.compute.flavors()
        for param, key in (("minRam", "memory_mb"), ("minDisk", "root_gb")):
            value = request.GET.get(param)
            if value is not None:
                if not value.isdigit():
                    raise Fault(400, f"Invalid {param} filter [{value}]")
                flavors = [f for f in flavors if f[key] >= int(value)]
        return flavors

    def list_flavors(self, request: Request) -> Response:
        page, following = self._paginate(request, self._flavors(request), "flavors", lambda f: f["flavorid"])
        body: dict[str, Any] = {"flavors": [views.flavor_brief(request.base, f) for f in page]}
        links = self._next_links(request, "flavors", following)
        if links:
            body["flavors_links"] = links
        return Response(200, body)

    def list_flavors_detail(self, request: Request) -> Response:
        page, following = self._paginate(request, self._flavors(request), "flavors", lambda f: f["flavorid"])
        body: dict[str, Any] = {"flavors": [views.flavor_detail(request.base, f) for f in page]}
        links = self._next_links(request, "flavors/detail", following)
        if links:
            body["flavors_links"] = links
        return Response(200, body)

    def show_flavor(self, request: Request, flavor_id: str) -> Response:
        for flavor in self.compute.flavors():
            if flavor["flavorid"] == flavor_id:
                return Response(200, {"flavor": views.flavor_detail(request.base, flavor)})
        raise Fault(404, f"Flavor {flavor_id} could not be found.")

    def create_flavor(self, request: Request) -> Response:
        body = self._body(request, schemas.FLAVOR_CREATE)["flavor"]
        flavor_id = body.get("id") or str(uuidlib.uuid4())
        flavor = self.compute.create_flavor(
            body["name"],
            vcpus=int(body["vcpus"]),
            memory_mb=int(body["ram"]),
            root_gb=int(body["disk"]),
            flavorid=flavor_id,
            ephemeral_gb=int(body.get("OS-FLV-EXT-DATA:ephemeral", 0)),
            swap_mb=int(body.get("swap", 0) or 0),
        )
        return Response(200, {"flavor": views.flavor_detail(request.base, flavor)})

    # -- images ---------------------------------------------------------------------------

    def _images(self, request: Request) -> list[dict[str, Any]]:
        images = [i for i in self.compute.images() if i["status"] != "deleted"]
        name = request.GET.get("name")
        if name:
            images = [i for i in images if i["name"] == name]
        status = request.GET.get("status")
        if status:
            images = [i for i in images if i["status"].upper() == status.upper()]
        return images

    def list_images(self, request: Request) -> Response:
        page, following = self._paginate(request, self._images(request), "images", lambda i: i["id"])
        body: dict[str, Any] = {"images": [views.image_brief(request.base, i) for i in page]}
        links = self._next_links(request, "images", following)
        if links:
            body["images_links"] = links
        return Response(200, body)

    def list_images_detail(self, request: Request) -> Response:
        page, following = self._paginate(request, self._images(request), "images", lambda i: i["id"])
        body: dict[str, Any] = {"images": [views.image_detail(request.base, i) for i in page]}
        links = self._next_links(request, "images/detail", following)
        if links:
            body["images_links"] = links
        return Response(200, body)

    def show_image(self, request: Request, image_id: str) -> Response:
        try:
            image = self.compute.show_image(image_id)
        except core_exc.NotFound:
            raise Fault(404, f"Image {image_id} could not be found.") from None
        return Response(200, {"image": views.image_detail(request.base, image)})

    # -- hypervisors and services ------------------------------------------------------------

    def _running(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.compute.list():
            if row["host"]:
                counts[row["host"]] = counts.get(row["host"], 0) + 1
        return counts

    def list_hypervisors(self, request: Request) -> Response:
        return Response(200, {"hypervisors": [views.hypervisor_brief(s) for s in self.compute.services()]})

    def list_hypervisors_detail(self, request: Request) -> Response:
        running = self._running()
        return Response(
            200,
            {
                "hypervisors": [
                    views.hypervisor_detail(s, running.get(s["host"], 0)) for s in self.compute.services()
                ]
            },
        )

    def show_hypervisor(self, request: Request, hypervisor_id: str) -> Response:
        for service in self.compute.services():
            if str(service["id"]) == hypervisor_id or service["host"] == hypervisor_id:
                running = self._running().get(service["host"], 0)
                return Response(200, {"hypervisor": views.hypervisor_detail(service, running)})
        raise Fault(404, f"Hypervisor with ID {hypervisor_id} could not be found.")

    def list_services(self, request: Request) -> Response:
        services = self.compute.services()
        host = request.GET.get("host")
        if host:
            services = [s for s in services if s["host"] == host]
        binary = request.GET.get("binary")
        if binary and binary != "nova-compute":
            services = []
        return Response(200, {"services": [views.service_view(s) for s in services]})


def validate(body: Any, schema: dict[str, Any]) -> None:
    """Raise a 400 naming the offending field."""
    validator = jsonschema.Draft7Validator(schema)
    error = next(iter(sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return
    path = "/".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        pattern_props = error.schema.get("patternProperties", {})
        extra = [k for k in extra if not any(re.search(p, k) for p in pattern_props)] or extra
        field = "/".join(filter(None, [path, ", ".join(extra)]))
        raise Fault(400, f"Invalid input for field/attribute {field}. Additional properties are not allowed.")
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else path
        field = "/".join(filter(None, [path, name]))
        raise Fault(400, f"Invalid input for field/attribute {field}. '{name}' is a required property.")
    raise Fault(
        400, f"Invalid input for field/attribute {path or 'body'}. Value: {error.instance!r}. {error.message}"
    )


def make_app(compute: Any, auth_token: str | None = None) -> APIApplication:
    return APIApplication(compute, auth_token=auth_token)


__all__ = ["APIApplication", "Fault", "make_app", "__version__"]
