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


@dataclass(frozen=True, slots=True)
class Router:
    by_method: dict[str, tuple[Route, ...]]

    def resolve(self, method: str, path: str, query_string: str) -> tuple[OperationModel, dict[str, str]] | None:
        routes = self.by_method.get(method.upper(), ())
        query = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
        for candidate in (path, unquote(path)):
            for route in routes:
                labels = route.match(candidate, query)
                if labels is not None:
                    return route.operation, labels
        return None


@cache
def router_for(service_name: str) -> Router:
    model = service_model(service_name)
    table: dict[str, list[Route]] = {}
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        pattern, required, literal_chars, labels = _compile(op.http["requestUri"])
        route = Route(op, pattern, required, (len(required), literal_chars, -len(labels)), labels)
        table.setdefault(op.http["method"].upper(), []).append(route)
    return Router(
        {m: tuple(sorted(rs, key=lambda r: r.specificity, reverse=True)) for m, rs in table.items()}
    )
