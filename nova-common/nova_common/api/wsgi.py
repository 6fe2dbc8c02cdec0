"""The WSGI application of the compute REST API (Nova's v2.1, microversions up
to :data:`~nova_common.api.microversion.MAX_VERSION`).

Routing, microversions, authentication and faults live here; the handlers are
the controllers of :mod:`nova_common.api.servers`, ``server_resources``,
``catalog``, ``hosts``, ``keypairs`` and ``limits``, which call a
:class:`~nova_common.compute.api.ComputeAPI` and render with
:mod:`nova_common.api.views`.

``application`` is the WSGI entry point for a WSGI server of one's own
(uWSGI, mod_wsgi, gunicorn): it reads the configuration files named by
``NOVA_COMMON_CONFIG_FILES`` (comma-separated) on the first request.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import uuid as uuidlib
from typing import Any

import webob

from nova_common import __version__
from nova_common.api import microversion
from nova_common.api.catalog import CatalogController
from nova_common.api.common import Fault, Request, Response, fault_for, fault_response
from nova_common.api.hosts import HostsController
from nova_common.api.keypairs import KeypairsController
from nova_common.api.limits import LimitsController
from nova_common.api.server_resources import ServerResourcesController
from nova_common.api.servers import ServersController

MIN_VERSION = microversion.MIN_VERSION
MAX_VERSION = microversion.MAX_VERSION
UPDATED = "2013-07-23T11:33:21Z"


class APIApplication:
    """The WSGI application. ``auth_token``: when set, every request but version
    discovery needs ``X-Auth-Token`` equal to it."""

    def __init__(self, compute: Any, auth_token: str | None = None) -> None:
        self.compute = compute
        self.auth_token = auth_token
        self.servers = servers = ServersController(compute)
        controllers = [
            servers,
            ServerResourcesController(compute, servers),
            CatalogController(compute),
            HostsController(compute),
            KeypairsController(compute),
            LimitsController(compute),
        ]
        self.routes = [
            (method, re.compile(pattern + "$"), handler)
            for controller in controllers
            for method, pattern, handler in controller.routes()
        ]
        self.routes.append(("GET", re.compile(r"/?$"), self.show_version))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except Exception as error:
            response = fault_response(fault_for(error))
        if request.path_info.startswith("/v2.1"):
            version = microversion.text(request.version)
            response.headers["OpenStack-API-Version"] = f"compute {version}"
            response.headers["X-OpenStack-Nova-API-Version"] = version
            response.headers["Vary"] = ", ".join(microversion.VERSION_HEADERS)
        if "x-openstack-request-id" not in response.headers:
            # oslo.middleware's RequestId sets it when it wraps the application.
            request_id = environ.get("openstack.request_id") or "req-" + str(uuidlib.uuid4())
            response.headers["x-openstack-request-id"] = request_id
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> webob.Response:
        path = request.path_info
        host_url = request.host_url + request.script_name
        if path in ("", "/"):
            if request.method not in ("GET", "HEAD"):
                raise Fault(405, "Only GET is allowed on /", {"Allow": "GET"})
            # Nova answers GET / with 200 (300 is for a path it does not know).
            return self._json(200, {"versions": [self._version_doc(host_url + "/v2.1/")]})
        if not (path == "/v2.1" or path.startswith("/v2.1/")):
            raise Fault(404, f"Unknown resource {path}")
        try:
            request.version = microversion.requested(request.headers)
        except microversion.VersionError as error:
            raise Fault(error.status, error.message) from None
        self._authenticate(request)
        request.base = host_url + "/v2.1"
        sub = _without_project_id(path[len("/v2.1") :])
        allowed = []
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(sub)
            if match is None:
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                allowed.append(method)
                continue
            result: Response = handler(request, **match.groupdict())
            return self._json(result.status, result.body, result.headers, result.raw)
        if allowed:
            raise Fault(405, f"{request.method} is not allowed on {sub}", {"Allow": ", ".join(allowed)})
        raise Fault(404, f"Unknown resource {sub}")

    @staticmethod
    def _json(
        status: int, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> webob.Response:
        response = webob.Response(status=status)
        if raw is not None:
            response.content_type = "application/json"
            response.charset = "utf-8"
            response.body = raw
        elif body is not None:
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
            "version": microversion.text(MAX_VERSION),
            "min_version": microversion.text(MIN_VERSION),
            "updated": UPDATED,
            "links": [{"rel": "self", "href": href}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
            ],
        }

    def show_version(self, request: Request) -> Response:
        return Response(200, {"version": self._version_doc(request.base + "/")})


#: A project id in the path (``/v2.1/{project_id}/servers``, how a Keystone catalog
#: often names the endpoint; optional since 2.18, accepted at every version as Nova does).
_PROJECT_ID = re.compile(r"/[0-9a-fA-F-]{1,64}(?=/)")
_COLLECTIONS = ("/servers", "/flavors", "/images", "/limits", "/os-")


def _without_project_id(sub: str) -> str:
    if sub.startswith(_COLLECTIONS):
        return sub
    match = _PROJECT_ID.match(sub)
    return sub[match.end() :] if match else sub


def make_app(compute: Any, auth_token: str | None = None, middleware: bool = True, conf: Any = None) -> Any:
    """The application; with ``middleware``, wrapped in oslo.middleware's request
    id filter and, given the service's ``conf``, its proxy-header filter
    (``X-Forwarded-Proto``, ``Forwarded``; on when ``[oslo_middleware]
    enable_proxy_headers_parsing`` is, as in Nova)."""
    app: Any = APIApplication(compute, auth_token=auth_token)
    if not middleware:
        return app
    from oslo_middleware import http_proxy_to_wsgi, request_id

    app = request_id.RequestId(app)
    if conf is not None:
        app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return app


_ENTRY_LOCK = threading.Lock()
_ENTRY_APP: Any = None


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """The WSGI entry point (``nova_common.api.wsgi:application``)."""
    global _ENTRY_APP
    if _ENTRY_APP is None:
        with _ENTRY_LOCK:
            if _ENTRY_APP is None:
                _ENTRY_APP = _build_entry_app()
    return _ENTRY_APP(environ, start_response)


def _build_entry_app() -> Any:
    import os

    from nova_common.cmd.serve import load_api_config
    from nova_common.compute.api import ComputeAPI

    files = [f for f in os.environ.get("NOVA_COMMON_CONFIG_FILES", "").split(",") if f]
    conf = load_api_config(files)
    return make_app(ComputeAPI(conf), auth_token=conf.api.auth_token, conf=conf)


__all__ = ["APIApplication", "Fault", "application", "make_app", "__version__"]
