"""Serve the WSGI application with the standard library (one thread per request)."""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import threading
from typing import Any
from wsgiref import simple_server

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class _Handler(simple_server.WSGIRequestHandler):
    """HTTP/1.0, one request per connection (wsgiref's model), logged at debug."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        LOG.debug("%s %s", self.address_string(), format % args)


class _ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


class APIServer:
    """The API on ``host:port`` (port 0: a free one) in a background thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, auth_token: str | None = None):
        if not is_loopback(host) and not auth_token:
            raise ValueError(
                f"refusing to serve the API on non-loopback address {host} without an auth token "
                "(--auth-token or [api] auth_token)"
            )
        self.httpd = simple_server.make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_Handler
        )
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/v2.1"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="api-http", daemon=True)
        self._thread.start()
        LOG.info("Compute API serving on %s", self.endpoint)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
