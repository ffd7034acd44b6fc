"""Check parsed parameters against every constraint of the input shape, with AWS's wording.

botocore's own ParamValidator only checks required members, types and minimums; AWS services also
enforce maximums, enums and patterns, so this walks the shape itself. Messages follow AWS's form:
``1 validation error detected: Value 'x' at 'thingName' failed to satisfy constraint: ...``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import regex

from otahub.aws.spec import Shape

log = logging.getLogger(__name__)

# Java's POSIX classes have no \p{...} spelling in Python's `regex`; these are their ASCII sets.
_JAVA_CLASSES = {
    r"\p{Cntrl}": r"\x00-\x1F\x7F",
    r"\p{Graph}": r"\x21-\x7E",
    r"\p{Print}": r"\x20-\x7E",
    r"\p{Alnum}": r"a-zA-Z0-9",
    r"\p{Alpha}": r"a-zA-Z",
    r"\p{Digit}": r"0-9",
    r"\p{Upper}": r"A-Z",
    r"\p{Lower}": r"a-z",
    r"\p{Space}": r" \t\n\x0B\f\r",
    r"\p{Punct}": r"!-/:-@\[-`{-~",
    r"\p{ASCII}": r"\x00-\x7F",
}
# Java's \w, \d and \s are ASCII-only too, where `regex`'s are Unicode (and regex.ASCII would also
# narrow \p{L} and the like). Java's \S therefore also admits the Unicode-only white space.
_JAVA_SHORTHANDS = {"w": r"a-zA-Z0-9_", "d": r"0-9", "s": r" \t\n\x0B\f\r"}
_NON_ASCII_SPACE = r"\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"


# Model patterns that cannot mean what they say. iotwireless CertificatePEM's pattern matches only
# *invalid* base64 (and is not a valid Java regex), so enforcing it would refuse every real PEM.
UNENFORCEABLE_PATTERNS = frozenset({"[^-A-Za-z0-9+/=]|=[^=]|={3,}${1,4096}"})
_JAVA_HEX_ESCAPE = regex.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


@cache
def compiled_pattern(pattern: str) -> regex.Pattern[str] | None:
    """The model's (Java) pattern compiled for `regex`, or None when the model's pattern is broken."""
    if pattern in UNENFORCEABLE_PATTERNS:
        return None
    translated = _java_classes(_JAVA_HEX_ESCAPE.sub(lambda m: f"\\U{int(m.group(1), 16):08x}", pattern))
    try:
        return regex.compile(translated, regex.DOTALL)
    except regex.error:
        log.warning("model pattern %r does not compile; it is not enforced", pattern)
        return None


def _java_classes(pattern: str) -> str:
    """Spell Java's ASCII-only classes (POSIX ``\\p{...}``, ``\\w``, ``\\d``, ``\\s`` and their negations)
    as explicit sets, inside or outside a bracket expression."""
    out: list[str] = []
    in_set = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i : i + 2]
            name = pattern[i + 1]
            close = pattern.find("}", i)
            posix = pattern[i : close + 1] if name == "p" and close > 0 else ""
            if posix in _JAVA_CLASSES:
                out.append(_JAVA_CLASSES[posix] if in_set else f"[{_JAVA_CLASSES[posix]}]")
                i += len(posix)
                continue
            ascii_set = _JAVA_SHORTHANDS.get(name.lower())
            if ascii_set is None:
                out.append(escape)
            elif not in_set:
                out.append(f"[{'^' if name.isupper() else ''}{ascii_set}]")
            elif name.islower():
                out.append(ascii_set)
            elif name == "S":
                out.append(escape + _NON_ASCII_SPACE)
            else:
                out.append(escape)  # a \W or \D inside [...] stays Unicode; no model uses one
            i += 2
            continue
        if char == "[" and not in_set:
            in_set = True
        elif char == "]" and in_set:
            in_set = False
        out.append(char)
        i += 1
    return "".join(out)


@dataclass
class ValidationReport:
    problems: list[tuple[str, str]] = field(default_factory=list)  # (member path, message)

    def add(self, path: str, value: Any, constraint: str) -> None:
        shown = "null" if value is None else f"'{_short(value)}'"
        self.problems.append((path, f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"))

    def message(self) -> str:
        count = len(self.problems)
        noun = "error" if count == 1 else "errors"
        return f"{count} validation {noun} detected: " + "; ".join(m for _, m in self.problems)


def _short(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text if len(text) <= 256 else text[:253] + "..."


def validate_input(shape: Shape | None, params: dict[str, Any]) -> ValidationReport:
    report = ValidationReport()
    if shape is not None:
        _structure(shape, params, "", report)
    return report


def _structure(shape: Shape, value: Any, prefix: str, report: ValidationReport) -> None:
    if getattr(shape, "is_document_type", False):
        return
    if not isinstance(value, dict):
        report.add(prefix.rstrip("."), value, "Member must be a structure")
        return
    for name in shape.required_members:
        if value.get(name) is None:
            report.add(f"{prefix}{name}", None, "Member must not be null")
    if shape.metadata.get("union") and len([v for v in value.values() if v is not None]) != 1:
        report.add(prefix.rstrip(".") or shape.name, None, "Union must have exactly one member set")
    for name, member_value in value.items():
        member = shape.members.get(name)
        if member is not None and member_value is not None:
            _check(member, member_value, f"{prefix}{name}", report)


def _nested_structure(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    _structure(shape, value, f"{path}.", report)


def _check(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    checker = _CHECKERS.get(shape.type_name)
    if checker is not None:
        checker(shape, value, path, report)


def _string(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    if not isinstance(value, str):
        report.add(path, value, "Member must be a string")
        return
    enum = shape.enum
    if enum and value not in enum:
        report.add(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
    _length(shape, len(value), value, path, report)
    pattern = shape.metadata.get("pattern")
    if pattern:
        compiled = compiled_pattern(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            report.add(path, value, f"Member must satisfy regular expression pattern: {pattern}")


def _length(shape: Shape, size: int, value: Any, path: str, report: ValidationReport) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        report.add(path, value, f"Member must have length greater than or equal to {low}")
    if high is not None and size > high:
        report.add(path, value, f"Member must have length less than or equal to {high}")


def _number(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    integral = shape.type_name in ("integer", "long")
    ok = isinstance(value, int) if integral else isinstance(value, int | float)
    if not ok or isinstance(value, bool):
        report.add(path, value, f"Member must be a{'n integer' if integral else ' number'}")
        return
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        report.add(path, value, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        report.add(path, value, f"Member must have value less than or equal to {high}")


def _boolean(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    if not isinstance(value, bool):
        report.add(path, value, "Member must be a boolean")


def _timestamp(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    if not isinstance(value, datetime):
        report.add(path, value, "Member must be a timestamp")


def _blob(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    if shape.serialization.get("streaming") and not isinstance(value, bytes | bytearray):
        return  # a body spooled to disk as it arrived; its size was bounded while spooling
    if not isinstance(value, bytes | bytearray):
        report.add(path, value, "Member must be binary data")
        return
    _length(shape, len(value), "<binary>", path, report)


def _list(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    if not isinstance(value, list):
        report.add(path, value, "Member must be a list")
        return
    _length(shape, len(value), value, path, report)
    for index, item in enumerate(value):
        if item is None:
            report.add(f"{path}.{index + 1}.member", None, "Member must not be null")
        else:
            _check(shape.member, item, f"{path}.{index + 1}.member", report)


def _map(shape: Shape, value: Any, path: str, report: ValidationReport) -> None:
    if not isinstance(value, dict):
        report.add(path, value, "Member must be a map")
        return
    _length(shape, len(value), value, path, report)
    for key, item in value.items():
        _check(shape.key, key, f"{path}.key", report)
        _check(shape.value, item, f"{path}.{key}", report)


_CHECKERS: dict[str, Callable[[Shape, Any, str, ValidationReport], None]] = {
    "structure": _nested_structure,
    "string": _string,
    "integer": _number,
    "long": _number,
    "float": _number,
    "double": _number,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "blob": _blob,
    "list": _list,
    "map": _map,
}
