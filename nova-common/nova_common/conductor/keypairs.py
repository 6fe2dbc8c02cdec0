"""Key pairs as Nova keeps them: a public key per (user, name), its
fingerprint computed here, a new RSA key generated when none is given (the
private half is returned once and never stored)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from nova_common.compute import exceptions as core_exc
from nova_common.db.api import Database

#: Whose key pairs these are when the request names nobody (no authentication
#: means one user; Nova's are per user).
DEFAULT_USER = "admin"
_NAME = re.compile(r"[_\- a-zA-Z0-9]{1,255}")
TYPES = ("ssh", "x509")


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """MD5 of the key blob, as ``ssh-keygen -l -E md5`` prints it (Nova's form)."""
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise core_exc.Invalid(
            field="public_key",
            value=public_key[:64],
            reason="not an OpenSSH public key (TYPE BASE64 [COMMENT])",
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise core_exc.Invalid(
            field="public_key", value=public_key[:64], reason="the key is not valid base64"
        ) from None
    if not blob.startswith(len(parts[0]).to_bytes(4, "big") + parts[0].encode()):
        raise core_exc.Invalid(
            field="public_key", value=public_key[:64], reason=f"the key blob is not of type {parts[0]}"
        )
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError as error:
        raise core_exc.Invalid(field="public_key", value=certificate[:64], reason=str(error)) from None
    return _colon_hex(hashlib.sha1(cert.public_bytes(_der()), usedforsecurity=False).digest())


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def generate_ssh_key() -> tuple[str, str]:
    """A new 2048-bit RSA key: (private key PEM, OpenSSH public key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode() + " Generated-by-Nova"


def create(
    db: Database, user_id: str, name: Any, public_key: Any = None, key_type: Any = "ssh"
) -> dict[str, Any]:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name != name.strip():
        raise core_exc.Invalid(
            field="name", value=name, reason="1-255 of letters, digits, '_', '-' and inner spaces"
        )
    if key_type not in TYPES:
        raise core_exc.Invalid(field="type", value=key_type, reason=f"must be one of {', '.join(TYPES)}")
    private_key = None
    if public_key is None:
        if key_type != "ssh":
            raise core_exc.Invalid(field="public_key", value=None, reason="an x509 key pair must be imported")
        private_key, public_key = generate_ssh_key()
    if not isinstance(public_key, str):
        raise core_exc.Invalid(field="public_key", value=public_key, reason="must be a string")
    fingerprint = ssh_fingerprint(public_key) if key_type == "ssh" else x509_fingerprint(public_key)
    created = db.create_keypair(
        dict(name=name, user_id=user_id, fingerprint=fingerprint, public_key=public_key, type=key_type)
    )
    if created is None:
        raise core_exc.Conflict(reason=f"Key pair '{name}' already exists.")
    if private_key is not None:
        created["private_key"] = private_key
    return created


def get(db: Database, user_id: str, name: Any) -> dict[str, Any]:
    keypair = db.get_keypair(user_id, name) if isinstance(name, str) else None
    if keypair is None:
        raise core_exc.NotFound(field="keypair", value=name)
    return keypair


def delete(db: Database, user_id: str, name: Any) -> None:
    if not isinstance(name, str) or not db.delete_keypair(user_id, name):
        raise core_exc.NotFound(field="keypair", value=name)
