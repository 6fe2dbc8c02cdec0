"""What every handler of the REST API uses: faults, the request and response
types, body parsing under Nova's input rules, pagination."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import webob
from oslo_log import log as logging

from nova_common.api import microversion
from nova_common.compute import exceptions as core_exc

LOG = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
#: Nova's [oslo_middleware] max_request_body_size default (112 KiB): larger is 413.
MAX_BODY_BYTES = 114688
#: No request body of the API nests deeper than this; deeper is refused before parsing.
MAX_BODY_DEPTH = 32

#: HTTP status -> the fault's key in the body (as nova.api.openstack.wsgi.Fault).
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    408: "requestTimeout",
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


def fault_response(fault: Fault) -> webob.Response:
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


class Request(webob.Request):
    version: tuple[int, int] = microversion.MIN_VERSION
    base: str = ""

    def at_least(self, major: int, minor: int) -> bool:
        return self.version >= (major, minor)


class Response:
    """What a handler returns: status, body (dict or None), headers; or ``raw``,
    a body already encoded as JSON."""

    def __init__(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw


Handler = Callable[..., Response]
Route = tuple[str, str, Handler]

# -- request bodies ---------------------------------------------------------------------


def _nesting_depth(raw: bytes) -> int:
    """How deep the brackets of a JSON text nest (brackets in strings counted too:
    an over-estimate only ever refuses what is deep anyway)."""
    depth = deepest = 0
    for char in re.findall(rb"[\[\]{}]", raw):
        depth += 1 if char in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(request: Request) -> Any:
    """The body as JSON, under the API's limits: 415 for another media type,
    413 when larger than MAX_BODY_BYTES, 400 when not JSON or nested deeper
    than MAX_BODY_DEPTH."""
    content_type = request.content_type
    if (
        request.body_file_raw is not None
        and request.content_length
        and content_type
        not in (
            "",
            "application/json",
        )
    ):
        raise Fault(415, f"Unsupported Content-Type {content_type}: the API accepts application/json")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        # Refused before reading a byte of it.
        raise Fault(413, f"Request is too large: {request.content_length} bytes (at most {MAX_BODY_BYTES})")
    try:
        raw = request.body or b""
    except (OSError, webob.request.DisconnectionError) as error:
        # The server's read timeout ran out (or the client left) before the whole body came.
        raise Fault(408, f"Request Timeout: the request body did not arrive ({error})") from None
    if not raw:
        return None
    if len(raw) > MAX_BODY_BYTES:
        raise Fault(413, f"Request is too large: {len(raw)} bytes (at most {MAX_BODY_BYTES})")
    if _nesting_depth(raw) > MAX_BODY_DEPTH:
        raise Fault(400, f"Malformed request body: nested deeper than {MAX_BODY_DEPTH} levels")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Fault(400, "Malformed request body: not JSON") from None
    where = _lone_surrogate(body, "")
    if where is not None:
        # JSON allows "\ud800"; nothing downstream can encode it (it was a 500).
        raise Fault(
            400, f"Invalid input for field/attribute {where or 'body'}: not valid Unicode (a lone surrogate)"
        )
    return body


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding a lone surrogate, or None."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return f"{path}/{key!a}" if path else f"{key!a}"
            found = _lone_surrogate(item, f"{path}/{key}" if path else key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}/{index}")
            if found is not None:
                return found
    return None


#: oslo.middleware's request id format, which clients send in X-OpenStack-Request-ID.
_REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def client_request_id(request: Request) -> str | None:
    """The client's ``X-OpenStack-Request-ID``, which makes a create safe to
    retry (the same id returns the first create's server); None when absent."""
    value = request.headers.get("X-OpenStack-Request-ID")
    if value is None:
        return None
    if not _REQUEST_ID.fullmatch(value):
        raise Fault(
            400, f"Invalid X-OpenStack-Request-ID header {value!r}: expected req-<uuid>, in lower case"
        )
    return value


def is_ascii_digits(text: str) -> bool:
    """Whether ``text`` is a non-negative integer in ASCII digits ("²".isdigit() is
    True, and int() refuses it)."""
    return text.isascii() and text.isdigit()


def parse_body(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    body = parse_json(request)
    validate(body, schema)
    return body


def _is_printable(text: str) -> bool:
    import unicodedata

    for char in text:
        category = unicodedata.category(char)
        if category.startswith("C") or (category.startswith("Z") and category != "Zs"):
            return False
    return True


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("name")
def _name(value: object) -> bool:
    """Nova's ``name`` format: printable, no leading or trailing whitespace."""
    if not isinstance(value, str):
        return True
    return _is_printable(value) and value == value.strip()


@FORMATS.checks("name_with_leading_trailing_spaces")
def _name_with_spaces(value: object) -> bool:
    """Nova's flavor names: printable, at least one character that is not a space."""
    if not isinstance(value, str):
        return True
    return _is_printable(value) and bool(value.strip())


@FORMATS.checks("printable")
def _printable(value: object) -> bool:
    return not isinstance(value, str) or _is_printable(value)


@FORMATS.checks("no_nul")
def _no_nul(value: object) -> bool:
    return not isinstance(value, str) or "\x00" not in value


def validate(body: Any, schema: dict[str, Any]) -> None:
    """Raise a 400 naming the offending field."""
    validator = jsonschema.Draft7Validator(schema, format_checker=FORMATS)
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
    if error.validator == "format":
        raise Fault(
            400,
            f"Invalid input for field/attribute {path or 'body'}. Value: {error.instance!r}. "
            f"{_FORMAT_REASONS.get(error.validator_value, error.message)}",
        )
    instance = error.instance if len(repr(error.instance)) < 200 else repr(error.instance)[:200] + "..."
    raise Fault(
        400, f"Invalid input for field/attribute {path or 'body'}. Value: {instance!r}. {error.message[:300]}"
    )


_FORMAT_REASONS = {
    "name": "printable characters. Can not start or end with whitespace.",
    "name_with_leading_trailing_spaces": "printable characters with at least one non space character",
    "printable": "printable characters only.",
    "no_nul": "must not contain NUL characters.",
}

# -- lists --------------------------------------------------------------------------------


def paginate(
    request: Request, items: list[dict[str, Any]], marker_of: Callable[[dict[str, Any]], str]
) -> tuple[list[dict[str, Any]], str | None]:
    """Apply ``limit`` and ``marker``; returns the page and the next marker."""
    limit_text = request.GET.get("limit")
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not is_ascii_digits(limit_text):
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


def next_links(request: Request, collection: str, following: str | None) -> list[dict[str, str]]:
    if following is None:
        return []
    params = [(k, v) for k, v in request.GET.items() if k != "marker"]
    params.append(("marker", following))
    query = "&".join(f"{webob.request.url_quote(k)}={webob.request.url_quote(v)}" for k, v in params)
    return [{"rel": "next", "href": f"{request.base}/{collection}?{query}"}]


def page_body(
    request: Request,
    key: str,
    items: list[dict[str, Any]],
    marker_of: Callable[[dict[str, Any]], str],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    collection: str | None = None,
) -> dict[str, Any]:
    """``{key: [rendered page], key_links: [next]}`` (the links only when a page is full)."""
    page, following = paginate(request, items, marker_of)
    body: dict[str, Any] = {key: [render(item) for item in page]}
    links = next_links(request, collection or key, following)
    if links:
        body[f"{key}_links"] = links
    return body
