"""Pick the operation of a known service from the HTTP method and the model's requestUri templates.

The service itself is chosen before this (from the SigV4 credential scope), because services share
paths: ``GET /things/{thingName}/jobs/{jobId}`` is both iot and iot-jobs-data.
"""

from __future__ import annotations

import re
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

    def match(self, path: str, query_keys: dict[str, str]) -> dict[str, str] | None:
        m = self.pattern.fullmatch(path)
        if m is None:
            return None
        for key, value in self.required_query:
            if key not in query_keys or (value is not None and query_keys[key] != value):
                return None
        return {label: unquote(m.group(group)) for group, label in self.label_names}


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


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class Router:
    """Routes bucketed by (method, first path segment); templates that start with a label come after."""

    buckets: dict[tuple[str, str], tuple[Route, ...]]
    label_first: dict[str, tuple[Route, ...]]

    def resolve(self, method: str, path: str, query_string: str) -> tuple[OperationModel, dict[str, str]] | None:
        method = method.upper()
        query = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
        for candidate in (path, unquote(path)):
            routes = self.buckets.get((method, _first_segment(candidate)), ()) + self.label_first.get(method, ())
            for route in routes:
                labels = route.match(candidate, query)
                if labels is not None:
                    return route.operation, labels
        return None


@cache
def router_for(service_name: str) -> Router:
    model = service_model(service_name)
    buckets: dict[tuple[str, str], list[Route]] = {}
    label_first: dict[str, list[Route]] = {}
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        template = op.http["requestUri"]
        pattern, required, literal_chars, labels = _compile(template)
        route = Route(op, pattern, required, (len(required), literal_chars, -len(labels)), labels)
        method = op.http["method"].upper()
        first = _first_segment(template.partition("?")[0])
        if first.startswith("{"):
            label_first.setdefault(method, []).append(route)
        else:
            buckets.setdefault((method, first), []).append(route)

    def ordered(routes: list[Route]) -> tuple[Route, ...]:
        return tuple(sorted(routes, key=lambda r: r.specificity, reverse=True))

    return Router({k: ordered(v) for k, v in buckets.items()}, {k: ordered(v) for k, v in label_first.items()})
