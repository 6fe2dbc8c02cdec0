"""Secrets kept out of what a process prints, logs or writes for others to read."""

from __future__ import annotations

import os
import urllib.parse

MASK = "***"


def redact_url(url: str | None) -> str | None:
    """``url`` with each host's password replaced by ``***`` (oslo.messaging
    URLs may name several hosts: ``rabbit://u:p@h1,u:p@h2/vhost``)."""
    if not url or "@" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    hosts = []
    for netloc in parts.netloc.split(","):
        credentials, at, host = netloc.rpartition("@")
        if at and ":" in credentials:
            credentials = credentials.split(":", 1)[0] + ":" + MASK
        hosts.append(f"{credentials}{at}{host}")
    return urllib.parse.urlunsplit(parts._replace(netloc=",".join(hosts)))


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600, also
    when the file already existed with a wider mode)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
