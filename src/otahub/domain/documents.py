"""Job documents: the placeholders AWS resolves in them. Pure Python (documents are handled as text).

- `${aws:iot:parameter:NAME}`: a job template's parameter, substituted when the job is created.
- `${aws:iot:s3-presigned-url:URL}`: an S3 object; each time a device receives the document the URL is
  replaced by a freshly signed, expiring download URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import regex

from otahub.domain.errors import InvalidInput

_PRESIGNED = regex.compile(r"\$\{aws:iot:s3-presigned-url:([^}]+)\}")
_PARAMETER = regex.compile(r"\$\{aws:iot:parameter:([A-Za-z0-9_-]+)\}")
# s3.amazonaws.com, s3.us-east-1.amazonaws.com, s3-us-west-2.amazonaws.com (path style) and
# bucket.s3....amazonaws.com (virtual host style)
_S3_HOST = regex.compile(r"^(?:(?P<bucket>.+)\.)?s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True, slots=True)
class ObjectRef:
    bucket: str
    key: str
    version: str | None = None


def parse_s3_url(url: str, *, field: str) -> ObjectRef:
    """An S3 object named by `s3://bucket/key` or an https S3 URL (path or virtual-host style)."""
    parts = urlsplit(url.strip())
    if parts.scheme == "s3":
        bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
    elif parts.scheme in ("https", "http") and (host := _S3_HOST.match(parts.hostname or "")):
        path = unquote(parts.path.lstrip("/"))
        if host.group("bucket"):
            bucket, key = host.group("bucket"), path
        else:
            bucket, _, key = path.partition("/")
    else:
        raise InvalidInput(f"{field}: {url!r} is not an S3 object URL (s3://bucket/key or https://s3...)",
                           field=field)
    if not bucket or not key:
        raise InvalidInput(f"{field}: {url!r} does not name a bucket and a key", field=field)
    version = next((v for k, v in _query_pairs(parts.query) if k == "versionId"), None)
    return ObjectRef(bucket, key, version)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = (item.partition("=") for item in query.split("&") if item)
    return [(unquote(k), unquote(v)) for k, _, v in pairs]


def presigned_objects(document: str) -> list[ObjectRef]:
    """The objects a document's presigned-URL placeholders name (malformed ones are refused)."""
    return [parse_s3_url(m.group(1), field="document") for m in _PRESIGNED.finditer(document)]


def substitute_presigned(document: str, sign: Callable[[ObjectRef], str]) -> str:
    """The document with each presigned-URL placeholder replaced by ``sign(object)``."""
    if "${aws:iot:s3-presigned-url:" not in document:
        return document
    return str(_PRESIGNED.sub(lambda m: sign(parse_s3_url(m.group(1), field="document")), document))


def substitute_parameters(document: str, parameters: Mapping[str, str]) -> str:
    """Template parameters filled in; a placeholder without a value is refused, naming it."""
    missing = sorted({m.group(1) for m in _PARAMETER.finditer(document)} - set(parameters))
    if missing:
        raise InvalidInput(f"documentParameters has no value for {', '.join(missing)}", field="documentParameters")
    return str(_PARAMETER.sub(lambda m: parameters[m.group(1)], document))
