"""Pick the operation of a known service from the HTTP method and the model's requestUri templates.

The service itself is chosen before this (from the SigV4 credential scope), because services share
paths: ``GET /things/{thingName}/jobs/{jobId}`` is both iot and iot-jobs-data.

Among the templates that match a request, the most specific wins, in this order:

1. more literal query keys in the template (``/{Bucket}?versioning`` over ``/{Bucket}``),
   then more literal path characters, then fewer labels;
2. then, per request, from the input shape's members bound to the query string or to headers:
   a route whose *required* such members are all present beats one missing some (S3's
   ``UploadPart`` needs ``uploadId`` and ``partNumber``, ``CopyObject`` needs
   ``x-amz-copy-source``, while ``PutObject`` needs none of them on the same ``PUT /{Bucket}/{Key+}``);
   then the route requiring more of them (``UploadPartCopy`` over ``UploadPart``);
3. then the route knowing more of the request's query keys (``ListDirectoryBuckets`` takes
   ``max-directory-buckets``, ``ListBuckets`` does not); a querystring map member knows them all;
4. then a non-deprecated operation over a deprecated one (``GetBucketLifecycleConfiguration``
   over ``GetBucketLifecycle``: the wire cannot tell them apart);
5. finally the model's (alphabetical) order.

Header-bound members only count when the caller passes ``headers`` (lower-cased names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from urllib.parse import parse_qsl, unquote

from otahub.aws.spec import OperationModel, service_model

_LABEL = re.compile(r"\{([^}]+?)(\+?)\}")


@dataclass(frozen=True, slots=True)
class Route:
    operation: OperationModel
    pattern: re.Pattern[str]
    required_query: tuple[tuple[str, str | None], ...]
    specificity: tuple[int, int, int]
    label_names: tuple[tuple[str, str], ...]  # (regex group name, model label name)
    required_members: tuple[tuple[str, str], ...] = ()  # ("querystring" | "header", wire name)
    known_query: frozenset[str] | None = None  # None: a querystring map takes any key
    deprecated: bool = False

    def match(self, path: str, query_keys: Mapping[str, str]) -> dict[str, str] | None:
        m = self.pattern.fullmatch(path)
        if m is None:
            return None
        for key, value in self.required_query:
            if key not in query_keys or (value is not None and query_keys[key] != value):
                return None
        return {label: unquote(m.group(group)) for group, label in self.label_names}

    def fit(self, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[bool, int, int, bool]:
        """How well the request's query keys and headers suit this route (higher is better)."""
        present = sum(
            1
            for location, wire in self.required_members
            if (wire in query if location == "querystring" else wire in headers)
        )
        unknown = 0 if self.known_query is None else sum(1 for key in query if key not in self.known_query)
        return present == len(self.required_members), present, -unknown, not self.deprecated


def _compile(
    template: str,
) -> tuple[re.Pattern[str], tuple[tuple[str, str | None], ...], int, tuple[tuple[str, str], ...]]:
    path, _, query = template.partition("?")
    required = tuple(
        (k, v if v else None) for k, v in parse_qsl(query, keep_blank_values=True)
    )
    parts: list[str] = []
    literal_chars = 0
    labels: list[tuple[str, str]] = []
    pos = 0
    for m in _LABEL.finditer(path):
        literal = path[pos : m.start()]
        literal_chars += len(literal)
        parts.append(re.escape(literal))
        group = f"l{len(labels)}"
        parts.append(f"(?P<{group}>.+)" if m.group(2) else f"(?P<{group}>[^/]+)")
        labels.append((group, m.group(1)))
        pos = m.end()
    tail = path[pos:]
    literal_chars += len(tail)
    parts.append(re.escape(tail.rstrip("/")) + "/?")
    return re.compile("".join(parts)), required, literal_chars, tuple(labels)


def _bound_members(
    op: OperationModel, literal_keys: set[str]
) -> tuple[tuple[tuple[str, str], ...], frozenset[str] | None]:
    """The required query/header members of ``op``'s input, and the query keys it knows (None: any)."""
    shape = op.input_shape
    if shape is None:
        return (), frozenset(literal_keys)
    required: list[tuple[str, str]] = []
    known: set[str] | None = set(literal_keys)
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "querystring" and known is not None:
            known = None if member.type_name == "map" else known | {wire}
        if location in ("querystring", "header") and name in shape.required_members:
            required.append((location, wire.lower() if location == "header" else wire))
    return tuple(required), None if known is None else frozenset(known)


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class Router:
    """Routes bucketed by (method, first path segment); templates that start with a label come after
    (a match among the former wins over any of the latter)."""

    buckets: dict[tuple[str, str], tuple[Route, ...]]
    label_first: dict[str, tuple[Route, ...]]

    def resolve(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str] | None = None
    ) -> tuple[OperationModel, dict[str, str]] | None:
        method = method.upper()
        query = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
        for candidate in (path, unquote(path)):
            for routes in (self.buckets.get((method, _first_segment(candidate)), ()), self.label_first.get(method, ())):
                found = _best(routes, candidate, query, headers or {})
                if found is not None:
                    return found
        return None


def _best(
    routes: tuple[Route, ...], path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[OperationModel, dict[str, str]] | None:
    """The best matching route: the most specific template, then the best fit to this request."""
    best: tuple[Route, dict[str, str]] | None = None
    for route in routes:
        if best is not None and route.specificity < best[0].specificity:
            continue  # each group is sorted, so only equally specific routes can still compete
        labels = route.match(path, query)
        if labels is None:
            continue
        if (
            best is None
            or route.specificity > best[0].specificity
            or route.fit(query, headers) > best[0].fit(query, headers)
        ):
            best = (route, labels)
    return (best[0].operation, best[1]) if best is not None else None


@cache
def router_for(service_name: str) -> Router:
    model = service_model(service_name)
    buckets: dict[tuple[str, str], list[Route]] = {}
    label_first: dict[str, list[Route]] = {}
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        template = op.http["requestUri"]
        pattern, required, literal_chars, labels = _compile(template)
        required_members, known_query = _bound_members(op, {key for key, _ in required})
        route = Route(
            op, pattern, required, (len(required), literal_chars, -len(labels)), labels,
            required_members, known_query, bool(op.deprecated),
        )
        method = op.http["method"].upper()
        first = _first_segment(template.partition("?")[0])
        if first.startswith("{"):
            label_first.setdefault(method, []).append(route)
        else:
            buckets.setdefault((method, first), []).append(route)

    def ordered(routes: list[Route]) -> tuple[Route, ...]:
        return tuple(sorted(routes, key=lambda r: r.specificity, reverse=True))

    return Router({k: ordered(v) for k, v in buckets.items()}, {k: ordered(v) for k, v in label_first.items()})
