"""A RabbitMQ virtual host of a run's own, and whether a broker answers.

oslo.messaging's topic queues outlive their consumers and queue names are
global per virtual host, so each matrix run and each deployment of the
upgrade harness gets a fresh vhost (``rabbitmqctl add_vhost``), deleted with
everything in it afterwards. The shared broker itself is never restarted.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator

DEFAULT_URL = "rabbit://guest:guest@127.0.0.1:5672/"


class BrokerError(Exception):
    """No broker, or no vhost of our own; the message says which."""


def unavailable(url: str) -> str | None:
    """Why the broker of ``url`` does not answer, or None."""
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as error:
        return f"no RabbitMQ at {host}:{port} ({error})"


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(["rabbitmqctl", *args], 127, "", str(error))


@contextlib.contextmanager
def fresh_vhost(url: str, prefix: str) -> Iterator[str]:
    """``url`` on a new virtual host ``<prefix>-<random>``, deleted on exit."""
    reason = unavailable(url)
    if reason:
        raise BrokerError(reason)
    parsed = urllib.parse.urlsplit(url)
    vhost = f"{prefix}-{uuid.uuid4().hex[:8]}"
    user = parsed.username or "guest"
    for args in (("add_vhost", vhost), ("set_permissions", "-p", vhost, user, ".*", ".*", ".*")):
        result = _rabbitmqctl(*args)
        if result.returncode != 0:
            _rabbitmqctl("delete_vhost", vhost)
            raise BrokerError(
                f"rabbitmqctl {' '.join(args)} failed: {(result.stderr or result.stdout).strip()}"
            )
    try:
        yield parsed._replace(path="/" + vhost).geturl()
    finally:
        _rabbitmqctl("delete_vhost", vhost)
