"""Hypothesis strategies that build parameter values straight from botocore shapes.

``shape_params(shape, ...)`` draws a ``Generated``: the parameters of a top-level input or output
structure, in botocore's client form (datetimes, bytes), and whether every value is known to honour
the model's constraints. Values are kept small so hundreds of operations stay fast.

Smithy patterns are Java regular expressions. Each is translated to a Python one, compiled with
``re.ASCII`` (Java's ``\\w``, ``\\d`` and ``\\s`` are ASCII-only), that matches a *subset* of what the
Java pattern matches (``\\p{L}`` becomes ``a-zA-Z`` and so on), so a generated string honours the
original pattern. When a pattern cannot be translated, compiled or generated from, a plain string
stands in and the value is marked inexact: it may break the pattern.
"""

from __future__ import annotations

import enum
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import hypothesis.strategies as st
from botocore.model import Shape

MAX_EXTRA_LENGTH = 8  # strings and blobs are at most this much longer than their minimum
MAX_COLLECTION = 3  # lists and maps hold at most this many items (or their minimum, if larger)
MAX_DEPTH = 6  # below this, structures keep only their required members
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_MS = int((datetime(2100, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)
_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class Where(enum.Enum):
    """Where a value travels; it decides what the wire can carry."""

    BODY = "body"
    XML_BODY = "xml body"  # an XML document: only the characters XML 1.0 carries unchanged
    URI = "uri"
    QUERY = "querystring"
    HEADER = "header"


# Anything but surrogates, which no UTF-8 wire can carry.
_TEXT = st.characters(codec="utf-8")
# Header values reach the server as latin-1 bytes; keep them printable ASCII without spaces, so no
# HTTP stack would trim or fold them.
_HEADER_TEXT = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
_PLAIN = st.sampled_from(string.ascii_letters + string.digits)
# XML 1.0 has no way to write the other C0 controls, U+FFFE or U+FFFF, and its parsers turn CR
# (and CR LF) into LF.
_XML_TEXT = st.characters(
    codec="utf-8",
    exclude_characters="".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n") + "\ufffe\uffff",
)

# Java's POSIX classes are ASCII-only: these are exact.
_JAVA_POSIX = {
    r"\p{Cntrl}": r"\x00-\x1f\x7f",
    r"\p{Graph}": r"\x21-\x7e",
    r"\p{Print}": r"\x20-\x7e",
    r"\p{Alnum}": r"a-zA-Z0-9",
    r"\p{Alpha}": r"a-zA-Z",
    r"\p{Digit}": r"0-9",
    r"\p{Upper}": r"A-Z",
    r"\p{Lower}": r"a-z",
    r"\p{Space}": r" \t\n\x0b\f\r",
    r"\p{Punct}": r"!-/:-@\[-`{-~",
    r"\p{ASCII}": r"\x00-\x7f",
}
# Unicode categories narrowed to a subset: only sound inside a positive character class.
_JAVA_NARROWED = {r"\p{L}": "a-zA-Z", r"\p{N}": "0-9", r"\p{Z}": " "}
# Whole negated classes replaced by a subset of what they accept (Latin-1 and Latin/IPA/combining
# letters hold no C-category code point other than U+00AD).
_JAVA_NEGATED = {r"[^\p{C}]": "[\\x20-\\x7e\\xa0-\\xac\\xae-\\u0377]"}
# Constructs Hypothesis' from_regex cannot generate from reliably.
_UNSUPPORTED = re.compile(r"\(\?[=!<]|\\b|\\[1-9]|\\p|\\P")
# One character class (or class escape) and one quantifier: generated as text of chosen length.
_SIMPLE = re.compile(
    r"\^?(?P<open>\()?(?P<atom>\[(?:\\.|[^\]\\])+\]|\\[dDsSwW]|\.)"
    r"(?P<quant>[*+]|\{\d+(?:,\d*)?\})(?(open)\))\$?"
)


_JAVA_PROPERTY = re.compile(r"\\p\{\w+\}")


def _spelled(match: re.Match[str], table: dict[str, str]) -> str:
    """A ``\\p{...}`` class as the set ``table`` gives it, bracketed unless already in a set."""
    members = table.get(match[0])
    if members is None:
        return match[0]
    return members if _inside_set(match.string, match.start()) else f"[{members}]"


def _inside_set(pattern: str, position: int) -> bool:
    """Whether ``position`` of ``pattern`` lies inside a ``[...]`` set."""
    inside = escaped = False
    for char in pattern[:position]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            inside = True
        elif char == "]":
            inside = False
    return inside


@dataclass(frozen=True)
class Generated:
    params: dict[str, Any]
    exact: bool  # False when some value may break its shape's pattern


@cache
def python_regex(pattern: str) -> str | None:
    """A Python regex matching a subset of the Java ``pattern``'s strings, or None."""
    translated = pattern
    for java, python in _JAVA_NEGATED.items():
        translated = translated.replace(java, python)
    table = dict(_JAVA_POSIX)
    if "[^" not in translated:
        table.update(_JAVA_NARROWED)
    translated = _JAVA_PROPERTY.sub(lambda m: _spelled(m, table), translated)
    translated = re.sub(r"\\x\{([0-9a-fA-F]{1,4})\}", lambda m: f"\\u{int(m[1], 16):04x}", translated)
    if _UNSUPPORTED.search(translated):
        return None
    try:
        re.compile(translated, re.ASCII)
    except re.error:
        return None
    return translated


def _bounds(shape: Shape, where: Where) -> tuple[int, int | None]:
    """The model's length bounds (min raised to 1 for URI labels, which cannot be empty)."""
    low = int(shape.metadata.get("min", 0))
    if where is Where.URI:
        low = max(low, 1)
    high = shape.metadata.get("max")
    return low, None if high is None else int(high)


def _capped(low: int, high: int | None, extra: int) -> int:
    return low + extra if high is None else max(low, min(high, low + extra))


def _exact(value: Any) -> tuple[Any, bool]:
    return value, True


def _loose(value: Any) -> tuple[Any, bool]:
    return value, False


@cache
def _string_strategy(
    pattern: str | None, enum_values: tuple[str, ...], low: int, model_high: int | None, where: Where
) -> st.SearchStrategy[tuple[str, bool]]:
    if enum_values:
        return st.sampled_from(enum_values).map(_exact)
    alphabet = {Where.HEADER: _HEADER_TEXT, Where.XML_BODY: _XML_TEXT}.get(where, _TEXT)
    high = _capped(low, model_high, MAX_EXTRA_LENGTH)
    if pattern is None:
        return st.text(alphabet, min_size=low, max_size=high).map(_exact)
    fallback = st.text(_PLAIN, min_size=low, max_size=high).map(_loose)
    regex = python_regex(pattern)
    if regex is None:
        return fallback
    simple = _SIMPLE.fullmatch(regex)
    if simple is not None:
        q_low, q_high = _repeats(simple["quant"])
        size_low = max(low, q_low)
        limits = [bound for bound in (model_high, q_high) if bound is not None]
        limit = min(limits) if limits else None
        if limit is not None and size_low > limit:
            return fallback
        size_high = _capped(size_low, limit, MAX_EXTRA_LENGTH)
        atom = re.compile(simple["atom"], re.ASCII)
        chars = st.from_regex(atom, fullmatch=True, alphabet=alphabet)
        return st.lists(chars, min_size=size_low, max_size=size_high).map("".join).map(_exact)

    def checked(value: str) -> tuple[str, bool]:
        if low <= len(value) and (model_high is None or len(value) <= model_high):
            return value, True
        return (value or "x"), False

    strategies = [st.from_regex(re.compile(regex, re.ASCII), fullmatch=True, alphabet=alphabet)]
    if low > 1:  # from_regex rarely repeats far enough for a long minimum by itself
        longer = _repeated_at_least(regex, low)
        strategies.append(st.from_regex(re.compile(longer, re.ASCII), fullmatch=True, alphabet=alphabet))
    return st.one_of(strategies).map(checked)


def _repeats(quantifier: str) -> tuple[int, int | None]:
    """How often ``*``, ``+``, ``{n}``, ``{n,}`` or ``{n,m}`` repeats: (least, most or None)."""
    if quantifier in ("*", "+"):
        return (0 if quantifier == "*" else 1), None
    counts = quantifier[1:-1].split(",")
    least = int(counts[0])
    if len(counts) == 1:
        return least, least
    return least, int(counts[1]) if counts[1] else None


def _repeated_at_least(regex: str, count: int) -> str:
    """``regex`` with each unbounded ``*`` or ``+`` made ``{count,count+8}``: a subset of its
    language whose strings are at least ``count`` long where a repetition is unavoidable."""
    out: list[str] = []
    in_set = escaped = False
    for char in regex:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[" and not in_set:
            in_set = True
        elif char == "]" and in_set:
            in_set = False
        elif char in "*+" and not in_set:
            out.append(f"{{{count},{count + MAX_EXTRA_LENGTH}}}")
            continue
        out.append(char)
    return "".join(out)


def _timestamps(whole_seconds: bool) -> st.SearchStrategy[datetime]:
    if whole_seconds:
        return st.integers(0, _LAST_MS // 1000).map(lambda s: _EPOCH + timedelta(seconds=s))
    return st.integers(0, _LAST_MS).map(lambda ms: _EPOCH + timedelta(milliseconds=ms))


_JSON_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
_JSON_LEAF = (
    st.none() | st.booleans() | st.integers(-1000, 1000) | _JSON_FLOAT | st.text(_TEXT, max_size=6)
)
_DOCUMENT = st.one_of(
    st.booleans(),
    st.integers(-1000, 1000),
    _JSON_FLOAT,
    st.text(_TEXT, max_size=6),
    st.lists(_JSON_LEAF, max_size=3),
    st.dictionaries(st.text(_TEXT, max_size=6), _JSON_LEAF, max_size=3),
)


def _number_strategy(shape: Shape) -> st.SearchStrategy[Any]:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if shape.type_name in _INT_BOUNDS:
        default_low, default_high = _INT_BOUNDS[shape.type_name]
        return st.integers(
            default_low if low is None else int(low), default_high if high is None else int(high)
        )
    floats = st.floats(
        min_value=None if low is None else float(low),
        max_value=None if high is None else float(high),
        allow_nan=False,
        allow_infinity=False,
    )
    whole = st.integers(
        -(2**53) if low is None else math.ceil(low), 2**53 if high is None else math.floor(high)
    )
    return floats | whole  # botocore takes an int where the model says float


def _vanishes_empty(shape: Shape, where: Where) -> bool:
    """Whether an empty value of ``shape`` leaves nothing behind: a flattened XML list or map."""
    return where is Where.XML_BODY and shape.type_name in ("list", "map") and bool(shape.serialization.get("flattened"))


class _Drawer:
    """Draws one value per shape, recursively, remembering whether all honour their constraints."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any], with_nones: bool, xml: bool) -> None:
        self.draw = draw
        self.with_nones = with_nones
        self.body = Where.XML_BODY if xml else Where.BODY
        self.exact = True
        self.nonempty = False  # the next list or map drawn must not be empty

    def top(self, shape: Shape, status_codes: tuple[int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name not in shape.required_members and not self.draw(st.booleans()):
                if self.with_nones and self.draw(st.booleans()):
                    out[name] = None
                continue
            location = member.serialization.get("location")
            if location == "statusCode":
                out[name] = self.draw(st.sampled_from(status_codes))
                continue
            where = {
                "uri": Where.URI,
                "querystring": Where.QUERY,
                "header": Where.HEADER,
                "headers": Where.HEADER,
            }.get(location or "", self.body)
            if name in shape.required_members and (where is not self.body or _vanishes_empty(member, where)):
                # An empty list or map puts nothing on the query string or headers (or, flattened,
                # in an XML document), so a required one could never arrive: give it an item.
                self.nonempty = True
            out[name] = self.value(member, where, (shape.name,))
            self.nonempty = False
        return out

    def value(self, shape: Shape, where: Where, stack: tuple[str, ...]) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, where, stack)
        if kind == "list":
            low, high = self._sizes(shape, stack)
            count = self.draw(st.integers(low, high))
            inner = (*stack, shape.name)
            return [self.value(shape.member, where, inner) for _ in range(count)]
        if kind == "map":
            return self.map(shape, where, stack)
        if kind == "string":
            s_low, s_high = _bounds(shape, where)
            strategy = _string_strategy(
                shape.metadata.get("pattern"), tuple(shape.enum), s_low, s_high, where
            )
            value, exact = self.draw(strategy)
            self.exact = self.exact and exact
            return value
        if kind in ("integer", "long", "float", "double"):
            return self.draw(_number_strategy(shape))
        if kind == "boolean":
            return self.draw(st.booleans())
        if kind == "timestamp":
            # Headers and RFC 822 text carry whole seconds only.
            rfc822 = shape.serialization.get("timestampFormat") == "rfc822"
            return self.draw(_timestamps(whole_seconds=where is Where.HEADER or rfc822))
        if kind == "blob":
            b_low, b_high = _bounds(shape, Where.BODY)
            b_cap = _capped(b_low, b_high, MAX_EXTRA_LENGTH)
            return self.draw(st.binary(min_size=b_low, max_size=b_cap))
        raise AssertionError(f"no strategy for shape type {kind!r} ({shape.name})")

    def structure(self, shape: Shape, where: Where, stack: tuple[str, ...]) -> Any:
        if getattr(shape, "is_document_type", False):
            return self.draw(_DOCUMENT)
        inner = (*stack, shape.name)
        shallow = shape.name in stack or len(stack) >= MAX_DEPTH
        names = list(shape.members)
        if shape.metadata.get("union"):
            chosen = self.draw(st.sampled_from(names))
            return {chosen: self.value(shape.members[chosen], where, inner)}
        out: dict[str, Any] = {}
        for name in names:
            if name in shape.required_members or (not shallow and self.draw(st.booleans())):
                member = shape.members[name]
                if name in shape.required_members and _vanishes_empty(member, where):
                    self.nonempty = True
                out[name] = self.value(member, where, inner)
            elif self.with_nones and self.draw(st.booleans()):
                out[name] = None
        return out

    def map(self, shape: Shape, where: Where, stack: tuple[str, ...]) -> dict[Any, Any]:
        low, high = self._sizes(shape, stack)
        key_shape = shape.key
        k_low, k_high = _bounds(key_shape, where)
        keys = self.draw(
            st.lists(
                _string_strategy(
                    key_shape.metadata.get("pattern"), tuple(key_shape.enum), k_low, k_high, where
                ),
                min_size=low,
                max_size=high,
                unique_by=lambda pair: pair[0],
            )
        )
        inner = (*stack, shape.name)
        out: dict[Any, Any] = {}
        for key, exact in keys:
            self.exact = self.exact and exact
            out[key] = self.value(shape.value, where, inner)
        return out

    def _sizes(self, shape: Shape, stack: tuple[str, ...]) -> tuple[int, int]:
        low = int(shape.metadata.get("min", 0))
        if self.nonempty:
            low = max(low, 1)
            self.nonempty = False
        if shape.name in stack or len(stack) >= MAX_DEPTH:
            return low, low
        high = shape.metadata.get("max")
        cap = max(low, MAX_COLLECTION)
        return low, cap if high is None else max(low, min(int(high), cap))


@st.composite
def shape_params(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    shape: Shape | None,
    status_codes: tuple[int, ...] = (200,),
    with_nones: bool = False,
    xml: bool = False,
) -> Generated:
    """Parameters for a top-level input or output ``shape``; ``statusCode`` members draw from
    ``status_codes``. ``with_nones`` sometimes sets an optional structure member to None, as
    handlers do for what they do not know. ``xml`` keeps body strings to what XML carries."""
    if shape is None:
        return Generated({}, True)
    drawer = _Drawer(draw, with_nones, xml)
    params = drawer.top(shape, status_codes)
    return Generated(params, drawer.exact)
