"""Serve the WSGI application on cheroot (CherryPy's multi-threaded HTTP/1.1
server): a fixed pool of worker threads, keep-alive, a socket read timeout
and a request body size limit enforced before the application runs."""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

from cheroot import wsgi
from oslo_log import log as logging

from nova_common.api.common import MAX_BODY_BYTES

LOG = logging.getLogger(__name__)

#: Seconds a connection may take to send the rest of a request (a body
#: shorter than its Content-Length is dropped after this).
READ_TIMEOUT_S = 10.0
DEFAULT_THREADS = 16
#: The request line and headers together (eventlet's, Nova's former server, allowed 16 KiB a line).
MAX_HEADER_BYTES = 65536


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


class PortInUse(OSError):
    pass


class APIServer:
    """The API on ``host:port`` (port 0: a free one) in a background thread.
    The port is bound in the constructor: PortInUse names it when taken."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_token: str | None = None,
        threads: int = DEFAULT_THREADS,
        read_timeout: float = READ_TIMEOUT_S,
    ):
        if not is_loopback(host) and not auth_token:
            raise ValueError(
                f"refusing to serve the API on non-loopback address {host} without an auth token "
                "(--auth-token or [api] auth_token)"
            )
        self.httpd = wsgi.Server(
            (host, port),
            app,
            numthreads=threads,
            timeout=read_timeout,
            server_name="nova-common",
            accepted_queue_size=128,
        )
        # Larger bodies are answered 413 by cheroot before they are read; so are
        # request lines and headers over MAX_HEADER_BYTES (cheroot's default: no limit).
        self.httpd.max_request_body_size = MAX_BODY_BYTES
        self.httpd.max_request_header_size = MAX_HEADER_BYTES
        try:
            self.httpd.prepare()
        except OSError as error:
            raise PortInUse(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        self.host = host
        self.port = self.httpd.bind_addr[1]
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/v2.1"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve, name="api-http", daemon=True)
        self._thread.start()
        LOG.info("Compute API serving on %s", self.endpoint)

    def stop(self) -> None:
        self.httpd.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
