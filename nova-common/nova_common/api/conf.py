"""The ``[api]`` options of ``nova-common api`` and ``nova-common serve`` (only
oslo.config here: listing them needs no extra)."""

from __future__ import annotations

from oslo_config import cfg


def api_opts() -> list[cfg.Opt]:
    return [
        cfg.StrOpt("listen", default="127.0.0.1", help="Address the compute API binds."),
        cfg.PortOpt("port", default=8774, help="Port of the compute API (0: a free one)."),
        cfg.FloatOpt(
            "client_socket_timeout",
            default=30.0,
            min=0.1,
            help="Seconds a client may take to send the rest of a request (a body shorter than its "
            "Content-Length is dropped after this) or to send the next one on a kept-alive connection.",
        ),
        cfg.FloatOpt(
            "graceful_shutdown_timeout",
            default=10.0,
            min=0.0,
            help="Seconds `nova-common api` stopped with SIGTERM lets requests in flight finish "
            "(they may wait up to [conductor] api_timeout for a conductor); then it exits, and "
            "their connections close unanswered.",
        ),
        cfg.IntOpt(
            "threads",
            default=16,
            min=1,
            help="Worker threads of the API's HTTP server (each serves one request at a time).",
        ),
        cfg.StrOpt(
            "auth_token",
            secret=True,
            help="Static token every request must carry in X-Auth-Token. Required to bind anything "
            "but a loopback address; unset: no authentication.",
        ),
    ]
