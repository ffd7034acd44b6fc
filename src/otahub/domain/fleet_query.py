"""Fleet-indexing queries: the subset of the AWS IoT query language that dynamic thing groups (and
managed-integrations OTA target queries) use, parsed once and evaluated over records. Pure Python.

A record maps field names to a value, a list of values or None (`thing_record` builds one for a thing).
The grammar, loosest binding first (NOT > AND > OR; adjacent terms are ANDed):

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := "NOT" unary | "-" unary | "(" or ")" | term | "*"          (a lone * matches every record)
    term    := field ":" value | field ("<" | "<=" | ">" | ">=") literal
             | field ":" ("[" | "{") bound " TO " bound ("]" | "}")     ([ ] inclusive, { } exclusive)
             | field ":" "(" or ")"                                       (bare values in it read that field)
    value   := word with * and ? wildcards | "quoted \"text\"" | *      (field:* means the field has a value)
    bound   := literal | *                                               (* is an open end)

Matching is case-insensitive, as AWS documents (terms compare character by character ignoring case, so
? is one character of the value; string ranges compare casefolded text); field names are case-sensitive.
A list-valued field matches when any element does; a missing or None field matches no term, so
`NOT field:x` matches a record without the field. A range or comparison is numeric when every bound it
has is a number (then only numeric values match), otherwise it compares casefolded strings.
Syntax errors are `InvalidInput`, naming what is wrong and where; positions count characters from 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

from otahub.domain.errors import InvalidInput

Record = Mapping[str, str | Sequence[str] | None]

MAX_DEPTH = 32  # nested parentheses and NOTs; keeps parsing and evaluation far from the recursion limit

_FIELD = re.compile(r"[A-Za-z0-9_$@][A-Za-z0-9_.$@-]*")
_OPERATOR = re.compile(r":|<=|>=|<|>")
_KEYWORD = re.compile(r"(AND|OR|NOT)(?=[\s()]|$)")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SYNTAX_CHARS = '"[]{}()'

K = TypeVar("K", Decimal, str)


class Wildcard(Enum):
    ANY = "*"  # any run of characters, the empty run too
    ONE = "?"  # exactly one character


Part = str | Wildcard


def _values(record: Record, name: str) -> tuple[str, ...]:
    value = record.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text.strip()):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent too large for Decimal: round it as a double would (to 0 or infinity)
        return Decimal(float(text))


def _compile(parts: tuple[Part, ...]) -> re.Pattern[str]:
    pieces = (".*" if p is Wildcard.ANY else "." if p is Wildcard.ONE else re.escape(p) for p in parts)
    return re.compile("".join(pieces), re.DOTALL | re.IGNORECASE)


def _in_range(key: K, low: K | None, low_inclusive: bool, high: K | None, high_inclusive: bool) -> bool:
    if low is not None and (key < low or (key == low and not low_inclusive)):
        return False
    return high is None or key < high or (key == high and high_inclusive)


class _OneField:
    __slots__ = ()
    field: str

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})


class _Operands:
    __slots__ = ()
    operands: tuple[Node, ...]

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(operand.fields() for operand in self.operands))


@dataclass(frozen=True, slots=True)
class Term(_OneField):
    """field:value, the value literal text and wildcards."""

    field: str
    parts: tuple[Part, ...]
    _regex: re.Pattern[str] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", _compile(self.parts))

    def matches(self, record: Record) -> bool:
        return any(self._regex.fullmatch(value) for value in _values(record, self.field))


@dataclass(frozen=True, slots=True)
class Exists(_OneField):
    """field:* : the field has at least one value."""

    field: str

    def matches(self, record: Record) -> bool:
        return bool(_values(record, self.field))


@dataclass(frozen=True, slots=True)
class Bound:
    value: str
    inclusive: bool


@dataclass(frozen=True, slots=True)
class Range(_OneField):
    """field:[low TO high] and field>x and the like; None is an open end."""

    field: str
    low: Bound | None
    high: Bound | None

    @property
    def numeric(self) -> bool:
        bounds = [b for b in (self.low, self.high) if b is not None]
        return bool(bounds) and all(_number(b.value) is not None for b in bounds)

    def matches(self, record: Record) -> bool:
        numeric = self.numeric
        return any(self._contains(value, numeric) for value in _values(record, self.field))

    def _contains(self, value: str, numeric: bool) -> bool:
        low_inclusive = self.low is None or self.low.inclusive
        high_inclusive = self.high is None or self.high.inclusive
        if not numeric:
            low = None if self.low is None else self.low.value.casefold()
            high = None if self.high is None else self.high.value.casefold()
            return _in_range(value.casefold(), low, low_inclusive, high, high_inclusive)
        number = _number(value)
        low_number = None if self.low is None else _number(self.low.value)
        high_number = None if self.high is None else _number(self.high.value)
        return number is not None and _in_range(number, low_number, low_inclusive, high_number, high_inclusive)


@dataclass(frozen=True, slots=True)
class All:
    """A lone *: every record."""

    def matches(self, record: Record) -> bool:
        return True

    def fields(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def matches(self, record: Record) -> bool:
        return not self.operand.matches(record)

    def fields(self) -> frozenset[str]:
        return self.operand.fields()


@dataclass(frozen=True, slots=True)
class And(_Operands):
    operands: tuple[Node, ...]

    def matches(self, record: Record) -> bool:
        return all(operand.matches(record) for operand in self.operands)


@dataclass(frozen=True, slots=True)
class Or(_Operands):
    operands: tuple[Node, ...]

    def matches(self, record: Record) -> bool:
        return any(operand.matches(record) for operand in self.operands)


Node = Term | Exists | Range | All | Not | And | Or


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its text as given and the tree it parsed to."""

    text: str
    root: Node

    def matches(self, record: Record) -> bool:
        return self.root.matches(record)

    def fields(self) -> frozenset[str]:
        """The field names the query reads."""
        return self.root.fields()


def parse_query(text: str, *, field: str = "queryString") -> Query:
    """Parse a query; `field` names the request member in error messages."""
    return Query(text, _Parser(text, field).parse())


def thing_record(name: str, type_name: str | None, attributes: Mapping[str, str], group_names: Sequence[str]) -> Record:
    """The record a thing is matched as: thingName, thingTypeName, thingGroupNames and attributes.<name>."""
    record: dict[str, str | Sequence[str] | None] = {
        "thingName": name,
        "thingTypeName": type_name,
        "thingGroupNames": tuple(group_names),
    }
    record.update({f"attributes.{key}": value for key, value in attributes.items()})
    return record


class _Parser:
    """Recursive descent straight over the text; `default` is the field of an enclosing field:( ) group."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.pos = 0
        self.depth = 0

    def parse(self) -> Node:
        if not self.text.strip():
            raise self._error("the query is empty")
        node = self._or(None)
        self._skip_space()
        if not self._at_end():
            raise self._unexpected()
        return node

    # -- helpers -------------------------------------------------------------------------------------

    def _error(self, message: str) -> InvalidInput:
        return InvalidInput(f"{self.field}: {message}", field=self.field)

    def _where(self, pos: int | None = None) -> str:
        return f"at position {(self.pos if pos is None else pos) + 1}"

    def _unexpected(self) -> InvalidInput:
        if self._at_end():
            return self._error(f"unexpected end of query {self._where()}: expected a term")
        keyword = _KEYWORD.match(self.text, self.pos)
        shown = keyword.group() if keyword else self.text[self.pos]
        return self._error(f"unexpected '{shown}' {self._where()}")

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _peek(self) -> str:
        return "" if self._at_end() else self.text[self.pos]

    def _at_delimiter(self) -> bool:
        return self._ends_word(self.pos, "()")

    def _ends_word(self, pos: int, stops: str) -> bool:
        return pos >= len(self.text) or self.text[pos].isspace() or self.text[pos] in stops

    def _skip_space(self) -> bool:
        start = self.pos
        while not self._at_end() and self._peek().isspace():
            self.pos += 1
        return self.pos > start

    def _starts(self, word: str) -> bool:
        return self.text.startswith(word, self.pos) and self._ends_word(self.pos + len(word), "()")

    def _keyword(self, word: str) -> bool:
        """Consume the keyword `word` if it is next."""
        self._skip_space()
        found = self._starts(word)
        self.pos += len(word) if found else 0
        return found

    def _nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"the query nests more than {MAX_DEPTH} levels deep {self._where()}")

    def _end_of_term(self) -> None:
        if not self._at_delimiter():
            raise self._unexpected()

    # -- boolean structure -----------------------------------------------------------------------------

    def _or(self, default: str | None) -> Node:
        operands = [self._and(default)]
        while self._keyword("OR"):
            operands.append(self._and(default))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self, default: str | None) -> Node:
        operands = [self._unary(default)]
        while True:
            self._skip_space()
            if self._at_end() or self._peek() == ")" or self._starts("OR"):
                break
            self._keyword("AND")
            operands.append(self._unary(default))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self, default: str | None) -> Node:
        self._skip_space()
        negated = self._keyword("NOT")
        if not negated and self._peek() == "-" and self.text[self.pos + 1:self.pos + 2].strip():
            self.pos += 1
            negated = True
        if negated:
            self._nested()
            operand = self._unary(default)
            self.depth -= 1
            return Not(operand)
        return self._primary(default)

    def _primary(self, default: str | None) -> Node:
        self._skip_space()
        if self._at_end() or self._peek() == ")" or _KEYWORD.match(self.text, self.pos):
            raise self._unexpected()
        if self._peek() == "(":
            return self._group(default)
        term = self._field_term()
        if term is not None:
            return term
        if default is not None:
            return self._value(default)
        if self._peek() == "*" and self._ends_word(self.pos + 1, "()"):
            self.pos += 1
            return All()
        raise self._missing_field()

    def _group(self, default: str | None) -> Node:
        opened = self.pos
        self.pos += 1
        self._nested()
        node = self._or(default)
        self._skip_space()
        if self._peek() != ")":
            if self._at_end():
                raise self._error(f"unclosed '(' {self._where(opened)}: expected ')' {self._where()}")
            raise self._unexpected()
        self.pos += 1
        self.depth -= 1
        self._end_of_term()
        return node

    def _missing_field(self) -> InvalidInput:
        """The error for text where a term should start but that is not field:value."""
        if not _FIELD.match(self.text, self.pos):
            return self._unexpected()
        start = self.pos
        while not self._at_delimiter():
            self.pos += 1
        word = self.text[start:self.pos]
        return self._error(f"'{word}' {self._where(start)} needs a field name, as in thingName:{word}")

    # -- terms -----------------------------------------------------------------------------------------

    def _field_term(self) -> Node | None:
        name = _FIELD.match(self.text, self.pos)
        operator = None if name is None else _OPERATOR.match(self.text, name.end())
        if name is None or operator is None:
            return None
        self.pos = operator.end()
        if operator.group() != ":":
            return self._comparison(name.group(), operator.group())
        if self._at_delimiter() and self._peek() != "(":
            raise self._error(f"expected a value after '{name.group()}:' {self._where()}")
        return self._value(name.group())

    def _value(self, name: str) -> Node:
        char = self._peek()
        if char == "(":
            return self._group(name)
        if char in ("[", "{"):
            return self._range(name)
        if char == '"':
            term = Term(name, (self._quoted(),))
            self._end_of_term()
            return term
        parts = self._word("()")
        return Exists(name) if parts == (Wildcard.ANY,) else Term(name, parts)

    def _comparison(self, name: str, operator: str) -> Range:
        if self._at_delimiter():
            raise self._error(f"expected a value after '{name}{operator}' {self._where()}")
        value = self._literal("()", "a comparison")
        self._end_of_term()
        bound = Bound(value, inclusive=operator.endswith("="))
        return Range(name, bound, None) if operator.startswith(">") else Range(name, None, bound)

    def _range(self, name: str) -> Range:
        opened = self.pos
        low_inclusive = self._peek() == "["
        self.pos += 1
        self._skip_space()
        low = self._bound(opened)
        if not (self._skip_space() and self.text.startswith("TO", self.pos)):
            raise self._error(f"expected 'TO' {self._where()} in the range that opens {self._where(opened)}")
        self.pos += 2
        if not self._skip_space():
            raise self._error(f"expected a space after 'TO' {self._where()}")
        high = self._bound(opened)
        self._skip_space()
        if self._peek() not in ("]", "}"):
            closing = f"expected ']' or '}}' {self._where()}"
            raise self._error(f"{closing} to close the range that opens {self._where(opened)}")
        high_inclusive = self._peek() == "]"
        self.pos += 1
        self._end_of_term()
        return Range(
            name,
            None if low is None else Bound(low, low_inclusive),
            None if high is None else Bound(high, high_inclusive),
        )

    def _bound(self, opened: int) -> str | None:
        if self._at_end() or self._peek() in "]}" or self._starts("TO"):  # [ TO 5]: the low bound is missing
            raise self._error(f"expected a bound {self._where()} in the range that opens {self._where(opened)}")
        if self._peek() == "*" and self._ends_word(self.pos + 1, "]}"):
            self.pos += 1
            return None
        return self._literal("]}", "a range bound")

    # -- values ----------------------------------------------------------------------------------------

    def _literal(self, stops: str, where: str) -> str:
        """A quoted string or a word without wildcards."""
        if self._peek() == '"':
            return self._quoted()
        start = self.pos
        parts = self._word(stops)
        if any(isinstance(part, Wildcard) for part in parts):
            raise self._error(f"wildcards are not allowed in {where} {self._where(start)}")
        return "".join(part for part in parts if isinstance(part, str))

    def _quoted(self) -> str:
        opened = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(chars)
            if char == "\\":
                self.pos += 1
                if self._at_end():
                    break
                char = self.text[self.pos]
            chars.append(char)
            self.pos += 1
        raise self._error(f"unterminated quoted string {self._where(opened)}")

    def _word(self, stops: str) -> tuple[Part, ...]:
        """Characters up to white space or one of `stops`; backslash escapes, unescaped * and ? are wildcards."""
        parts: list[Part] = []
        literal: list[str] = []
        while not self._at_end() and not self._peek().isspace() and self._peek() not in stops:
            char = self._peek()
            if char in _SYNTAX_CHARS:
                raise self._error(f"unexpected '{char}' {self._where()} (escape it with a backslash)")
            if char == "\\":
                if self.pos + 1 >= len(self.text):
                    raise self._error(f"nothing to escape after '\\' {self._where()}")
                self.pos += 1
                literal.append(self._peek())
            elif char in "*?":
                parts.extend(["".join(literal), Wildcard(char)] if literal else [Wildcard(char)])
                literal = []
            else:
                literal.append(char)
            self.pos += 1
        if literal:
            parts.append("".join(literal))
        return tuple(parts)


# --- rewriting ------------------------------------------------------------------------------------
# Another face's query (managed-integrations OTA target queries name managed-thing fields) is rewritten
# into the things' own fields and stored as text, so dynamic groups evaluate it like any other query.

_ESCAPED_IN_WORD = set(_SYNTAX_CHARS) | {"\\", "*", "?"}


def renamed(node: Node, rename: Callable[[str], str]) -> Node:
    """The same tree with every field name passed through ``rename``."""
    if isinstance(node, Term):
        return Term(rename(node.field), node.parts)
    if isinstance(node, Exists):
        return Exists(rename(node.field))
    if isinstance(node, Range):
        return Range(rename(node.field), node.low, node.high)
    if isinstance(node, Not):
        return Not(renamed(node.operand, rename))
    if isinstance(node, And):
        return And(tuple(renamed(operand, rename) for operand in node.operands))
    if isinstance(node, Or):
        return Or(tuple(renamed(operand, rename) for operand in node.operands))
    return node


def render(node: Node) -> str:
    """Query text that parses back to ``node`` (the parenthesis only where precedence needs them)."""
    if isinstance(node, Term):
        return f"{node.field}:{_render_value(node.parts)}"
    if isinstance(node, Exists):
        return f"{node.field}:*"
    if isinstance(node, Range):
        low = "*" if node.low is None else _quoted(node.low.value)
        high = "*" if node.high is None else _quoted(node.high.value)
        opening = "[" if node.low is None or node.low.inclusive else "{"
        closing = "]" if node.high is None or node.high.inclusive else "}"
        return f"{node.field}:{opening}{low} TO {high}{closing}"
    if isinstance(node, All):
        return "*"
    if isinstance(node, Not):
        operand = render(node.operand)
        return f"NOT ({operand})" if isinstance(node.operand, And | Or) else f"NOT {operand}"
    if isinstance(node, And):
        return " AND ".join(f"({render(o)})" if isinstance(o, Or) else render(o) for o in node.operands)
    return " OR ".join(render(o) for o in node.operands)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_value(parts: tuple[Part, ...]) -> str:
    if not any(isinstance(part, Wildcard) for part in parts):
        return _quoted("".join(part for part in parts if isinstance(part, str)))
    # a word: wildcards bare, literal text escaped (white space too: a word ends at unescaped white space)
    return "".join(
        part.value if isinstance(part, Wildcard)
        else "".join(f"\\{c}" if c in _ESCAPED_IN_WORD or c.isspace() else c for c in part)
        for part in parts
    )
