"""Fleet-indexing queries: an example for every construct and error, and properties over generated query
trees and records checked against a direct evaluation of the tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput
from otahub.domain.fleet_query import MAX_DEPTH, Query, Record, parse_query, renamed, thing_record
from otahub.domain.fleet_query import render as render_node

THING = thing_record(
    "sensor-12", "Sensor", {"model": "m1", "version": "3", "room": "north wing", "fw": "1.10.2"}, ["g1", "lab"]
)
MANAGED = {"Role": "DEVICE", "Brand": "Acme", "Model": "X 100", "SerialNumber": "SN-0042", "Name": None}


def matches(text: str, record: Record = THING) -> bool:
    return parse_query(text).matches(record)


def error(text: str, field: str = "queryString") -> str:
    with pytest.raises(InvalidInput) as excinfo:
        parse_query(text, field=field)
    assert excinfo.value.field == field
    return excinfo.value.message


# -- examples --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("thingName:sensor-12", True),
    ("thingName:sensor-1", False),
    ("thingName:SENSOR-12", True),  # search is case-insensitive
    ("thingTypeName:Sensor", True),
    ("attributes.model:m1", True),
    ("attributes.model:m2", False),
    ("thingName:sensor-*", True),
    ("thingName:*-12", True),
    ("thingName:sensor*2", True),
    ("thingName:sensor-12*", True),  # * matches the empty run too
    ("thingName:*sensor-12", True),
    ("thingName:sens*x", False),
    ("attributes.model:m?", True),
    ("attributes.model:?", False),
    ("attributes.model:m??", False),
    ("thingName:sensor-1?", True),
    (r"thingName:sensor\-12", True),
    (r"attributes.model:m\?", False),  # an escaped ? is a literal question mark
    ('attributes.room:"north wing"', True),
    ('attributes.room:"north *"', False),  # no wildcards in quoted values
    (r"attributes.room:north\ wing", True),
    ('attributes.room:"north"', False),
])
def test_terms_wildcards_and_quoted_values(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_quoted_values_take_backslash_escapes() -> None:
    record = {"attributes.label": 'say "hi" \\ bye'}
    assert matches(r'attributes.label:"say \"hi\" \\ bye"', record)
    assert matches(r'attributes.label:"say \"hi\" \\ bye" ', record)
    assert not matches(r'attributes.label:"say \"hi\""', record)


@pytest.mark.parametrize(("text", "expected"), [
    ("attributes.version:[1 TO 5]", True),
    ("attributes.version:[3 TO 5]", True),
    ("attributes.version:[1 TO 3]", True),
    ("attributes.version:{3 TO 5]", False),
    ("attributes.version:[1 TO 3}", False),
    ("attributes.version:{1 TO 5}", True),
    ("attributes.version:[3 TO *]", True),
    ("attributes.version:{3 TO *]", False),
    ("attributes.version:[* TO 2]", False),
    ("attributes.version:[* TO *]", True),
    ("attributes.version:[  1   TO   10  ]", True),  # numeric, not "3" > "10" as strings
    ("attributes.version:[-1.5 TO 3.0]", True),
    ("attributes.version:[1e0 TO 4e0]", True),
    ("attributes.version:[1e-99999999999999999999 TO 1e99999999999999999999]", True),  # beyond Decimal's exponents
    ("attributes.version>1e99999999999999999999", False),
    ("attributes.model:[1 TO 5]", False),  # a non-numeric value never lies in a numeric range
    ("attributes.model:[m TO n]", True),  # non-numeric bounds compare strings
    ("attributes.model:[M0 TO M2]", True),
    ("attributes.model:{m1 TO n}", False),
    ('attributes.room:["north" TO "north x"]', True),
    ("attributes.version>2", True),
    ("attributes.version>3", False),
    ("attributes.version>=3", True),
    ("attributes.version<3", False),
    ("attributes.version<=3", True),
    ("attributes.version<10", True),
    ("attributes.version>-1", True),
    ("attributes.model>m0", True),
    ("attributes.model<m1", False),
    ("attributes.missing>0", False),
])
def test_ranges_and_comparisons(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("thingName:sensor-12 AND attributes.model:m1", True),
    ("thingName:sensor-12 AND attributes.model:m2", False),
    ("thingName:sensor-12 attributes.model:m2", False),  # white space is AND
    ("thingName:sensor-12 attributes.model:m1 thingTypeName:Sensor", True),
    ("thingName:x OR attributes.model:m1", True),
    ("thingName:x OR attributes.model:m2", False),
    ("NOT thingName:x", True),
    ("NOT thingName:sensor-12", False),
    ("-thingName:x", True),
    ("attributes.model:m1 -thingName:sensor-12", False),
    ("NOT NOT thingName:sensor-12", True),
    ("thingName:sensor-12 OR thingName:x AND thingName:y", True),  # AND binds tighter than OR
    ("(thingName:sensor-12 OR thingName:x) AND thingName:y", False),
    ("thingName:x AND thingName:y OR thingName:sensor-12", True),
    ("thingName:x thingName:y OR thingName:sensor-12", True),  # implicit AND binds like AND
    ("NOT thingName:sensor-12 OR attributes.model:m1", True),  # NOT binds tighter than OR
    ("NOT (thingName:sensor-12 OR attributes.model:m1)", False),
    ("NOT thingName:x AND thingName:sensor-12", True),
    ("((thingName:sensor-12))", True),
    ("(thingName:x OR thingName:sensor-12)(attributes.model:m1)", True),
    ("thingName:(sensor* AND -plasma)", True),  # field grouping
    ("thingName:(x OR y)", False),
    ("thingName:(x OR sensor-12) attributes.version:([1 TO 2] OR 3)", True),
    ("*", True),  # a lone * matches everything
    ("* AND thingName:x", False),
])
def test_boolean_structure(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("thingGroupNames:g1", True),
    ("thingGroupNames:lab", True),
    ("thingGroupNames:g2", False),
    ("thingGroupNames:g*", True),
    ("thingGroupNames:l?b", True),
    ("thingGroupNames:g1 thingGroupNames:lab", True),
    ("NOT thingGroupNames:g1", False),
    ("thingGroupNames:*", True),
])
def test_list_valued_fields_match_when_any_element_does(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_a_thing_in_no_group_has_no_group_names() -> None:
    alone = thing_record("t", None, {}, [])
    assert not matches("thingGroupNames:*", alone)
    assert matches("NOT thingGroupNames:*", alone)


@pytest.mark.parametrize("text", [
    "attributes.colour:red", "attributes.colour:*", "attributes.colour:[1 TO *]", "attributes.colour>0",
    "attributes.colour:r?d", 'attributes.colour:""', "thingTypeName:*", "thingTypeName:[* TO *]",
])
def test_missing_and_none_fields_never_match(text: str) -> None:
    record = thing_record("t", None, {}, ["g"])
    assert not matches(text, record)
    assert matches(f"NOT ({text})", record)


def test_existence() -> None:
    assert matches("attributes.model:*")
    assert matches("thingTypeName:*")
    assert not matches("thingTypeName:*", thing_record("t", None, {}, []))
    assert not matches(r"attributes.model:\*")  # an escaped * is the literal value *


def test_any_plain_field_name_works_for_managed_things() -> None:
    assert matches('Role:DEVICE AND Brand:acme AND Model:"X 100"', MANAGED)
    assert matches("SerialNumber:SN-00* AND NOT Name:*", MANAGED)
    assert not matches("ProvisioningStatus:*", MANAGED)


def test_fields_names_what_the_query_reads() -> None:
    query = parse_query("thingName:a* (attributes.model:m1 OR NOT thingGroupNames:g) attributes.version>2 *")
    assert query.fields() == frozenset({"thingName", "attributes.model", "thingGroupNames", "attributes.version"})
    assert parse_query("*").fields() == frozenset()
    assert parse_query("Model:(a OR b)").fields() == frozenset({"Model"})


def test_query_keeps_its_text() -> None:
    query = parse_query("  thingName:a  ")
    assert isinstance(query, Query)
    assert query.text == "  thingName:a  "


def test_thing_record() -> None:
    assert thing_record("a", None, {"model": "m1"}, ["g1", "g2"]) == {
        "thingName": "a", "thingTypeName": None, "thingGroupNames": ("g1", "g2"), "attributes.model": "m1",
    }


@pytest.mark.parametrize(("text", "message"), [
    ("", "the query is empty"),
    ("  \t ", "the query is empty"),
    ("thingName:a OR )", "unexpected ')' at position 16"),
    ("thingName:a)", "unexpected ')' at position 12"),
    ("(thingName:a", "unclosed '(' at position 1: expected ')' at position 13"),
    ("thingName:a AND", "unexpected end of query at position 16: expected a term"),
    ("thingName:a OR", "unexpected end of query at position 15: expected a term"),
    ("NOT", "unexpected end of query at position 4: expected a term"),
    ("AND thingName:a", "unexpected 'AND' at position 1"),
    ("thingName:a OR OR thingName:b", "unexpected 'OR' at position 16"),
    ("()", "unexpected ')' at position 2"),
    ("sensor", "'sensor' at position 1 needs a field name, as in thingName:sensor"),
    ("thingName:a b", "'b' at position 13 needs a field name, as in thingName:b"),
    ("+thingName:a", "unexpected '+' at position 1"),
    ("- thingName:a", "unexpected '-' at position 1"),
    ("thingName:", "expected a value after 'thingName:' at position 11"),
    ("thingName: a", "expected a value after 'thingName:' at position 11"),
    ("attributes.v>", "expected a value after 'attributes.v>' at position 14"),
    ("attributes.v>=*", "wildcards are not allowed in a comparison at position 15"),
    ('thingName:"abc', "unterminated quoted string at position 11"),
    ('thingName:"abc\\"', "unterminated quoted string at position 11"),
    ('thingName:"a"b', "unexpected 'b' at position 14"),
    ('thingName:a"b', "unexpected '\"' at position 12 (escape it with a backslash)"),
    ("thingName:a]", "unexpected ']' at position 12 (escape it with a backslash)"),
    ("thingName:a\\", "nothing to escape after '\\' at position 12"),
    ("v:[1 5]", "expected 'TO' at position 6 in the range that opens at position 3"),
    ("v:[ TO 5]", "expected a bound at position 5 in the range that opens at position 3"),
    ("v:[1 TO ]", "expected a bound at position 9 in the range that opens at position 3"),
    ("v:[1 TO", "expected a space after 'TO' at position 8"),
    ("v:[1 TO 5", "expected ']' or '}' at position 10 to close the range that opens at position 3"),
    ("v:[1 TO 5)", "unexpected ')' at position 10 (escape it with a backslash)"),
    ("v:[1 TO 5]x", "unexpected 'x' at position 11"),
    ("v:[1? TO 5]", "wildcards are not allowed in a range bound at position 4"),
    ("(" * (MAX_DEPTH + 1) + "a:b" + ")" * (MAX_DEPTH + 1), f"nests more than {MAX_DEPTH} levels deep"),
    ("NOT " * (MAX_DEPTH + 1) + "a:b", f"nests more than {MAX_DEPTH} levels deep"),
])
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    assert message in error(text)
    assert error(text).startswith("queryString: ")


def test_errors_name_the_request_member() -> None:
    assert error(")", field="otaTargetQueryString") == "otaTargetQueryString: unexpected ')' at position 1"


def test_nesting_up_to_the_limit_parses() -> None:
    assert matches("(" * MAX_DEPTH + "thingName:sensor-12" + ")" * MAX_DEPTH)
    assert matches("NOT " * MAX_DEPTH + "thingName:sensor-12")


# -- properties over generated trees -------------------------------------------------------------------

K = TypeVar("K", Decimal, str)
FIELDS = ("thingName", "thingTypeName", "thingGroupNames", "attributes.model", "attributes.version", "Role")
CHARS = "aAbB1-_.:*?\"\\()[]{} "  # letters to match and every character the syntax gives a meaning to
SPECIAL = set(CHARS) - set("aAbB1")


@dataclass(frozen=True)
class Leaf:
    field: str
    kind: str  # exact | quoted | wildcard | exists | range | compare
    pattern: tuple[str | None, ...] = ()  # literal characters; None is ?, "" is *
    low: int | str | None = None
    high: int | str | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    operator: str = ""


@dataclass(frozen=True)
class Bool:
    op: str  # not | and | or
    children: tuple[Tree, ...]
    spelling: bool  # not: "-" instead of "NOT"; and: implicit instead of "AND"; or: unused


Tree = Leaf | Bool


def escape(text: str) -> str:
    return "".join("\\" + c if c in SPECIAL or c.isspace() else c for c in text)


def render_leaf(leaf: Leaf) -> str:
    if leaf.kind == "exists":
        return f"{leaf.field}:*"
    if leaf.kind == "quoted":
        text = "".join(c or "" for c in leaf.pattern)
        return leaf.field + ':"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if leaf.kind in ("exact", "wildcard"):
        return leaf.field + ":" + "".join("?" if c is None else "*" if c == "" else escape(c) for c in leaf.pattern)
    if leaf.kind == "compare":
        return f"{leaf.field}{leaf.operator}{leaf.low}"
    opening, closing = "[" if leaf.low_inclusive else "{", "]" if leaf.high_inclusive else "}"
    low, high = ("*" if b is None else str(b) for b in (leaf.low, leaf.high))
    return f"{leaf.field}:{opening}{low} TO {high}{closing}"


PRECEDENCE = {"or": 1, "and": 2, "not": 3}


def render(tree: Tree, needed: int = 0) -> str:
    if isinstance(tree, Leaf):
        return render_leaf(tree)
    own = PRECEDENCE[tree.op]
    if tree.op == "not":
        text = ("-" if tree.spelling else "NOT ") + render(tree.children[0], own)
    else:
        joiner = " OR " if tree.op == "or" else " " if tree.spelling else " AND "
        text = joiner.join(render(child, own + 1 if tree.op == "and" else own) for child in tree.children)
    return f"({text})" if own < needed else text


def record_values(record: Record, name: str) -> list[str]:
    value = record.get(name)
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def glob(pattern: Sequence[str | None], text: str) -> bool:
    """Reference wildcard match by dynamic programming over (pattern index, text index)."""
    reachable = {0}
    for item in pattern:
        if item == "":
            reachable = set(range(min(reachable), len(text) + 1)) if reachable else set()
        elif item is None:
            reachable = {i + 1 for i in reachable if i < len(text)}
        else:
            reachable = {i + 1 for i in reachable if i < len(text) and text[i].lower() == item.lower()}
    return len(text) in reachable


def as_number(text: str) -> Decimal | None:
    """Reference number reading: plain decimal notation only (no underscores, NaN or infinity)."""
    if not set(text.strip()) <= set("0123456789.+-eE"):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def in_range(leaf: Leaf, value: str) -> bool:
    numeric = all(b is None or isinstance(b, int) for b in (leaf.low, leaf.high)) and not (
        leaf.low is None and leaf.high is None)
    if not numeric:
        key, low, high = (None if b is None else str(b).casefold() for b in (value, leaf.low, leaf.high))
        assert key is not None
        return within(key, low, leaf.low_inclusive, high, leaf.high_inclusive)
    number = as_number(value)
    low_number, high_number = (None if b is None else Decimal(b) for b in (leaf.low, leaf.high))
    return number is not None and within(number, low_number, leaf.low_inclusive, high_number, leaf.high_inclusive)


def within(key: K, low: K | None, low_inclusive: bool, high: K | None, high_inclusive: bool) -> bool:
    above = low is None or key > low or (key == low and low_inclusive)
    below = high is None or key < high or (key == high and high_inclusive)
    return above and below


def compare(leaf: Leaf, value: str) -> bool:
    number = as_number(value)
    bound = leaf.low
    assert isinstance(bound, int)
    if number is None:
        return False
    return {"<": number < bound, "<=": number <= bound, ">": number > bound, ">=": number >= bound}[leaf.operator]


def leaf_matches(leaf: Leaf, value: str) -> bool:
    if leaf.kind == "exists":
        return True
    if leaf.kind in ("range",):
        return in_range(leaf, value)
    if leaf.kind == "compare":
        return compare(leaf, value)
    return glob(leaf.pattern, value)


def evaluate(tree: Tree, record: Record) -> bool:
    if isinstance(tree, Leaf):
        return any(leaf_matches(tree, value) for value in record_values(record, tree.field))
    results = [evaluate(child, record) for child in tree.children]
    return not results[0] if tree.op == "not" else all(results) if tree.op == "and" else any(results)


def tree_fields(tree: Tree) -> frozenset[str]:
    if isinstance(tree, Leaf):
        return frozenset({tree.field})
    return frozenset().union(*(tree_fields(child) for child in tree.children))


fields = st.sampled_from(FIELDS)
chars = st.one_of(st.sampled_from("aAbB"), st.sampled_from(CHARS))  # mostly letters, so that terms do match
literals = st.text(alphabet=chars, min_size=1, max_size=4)
numbers = st.integers(min_value=-2, max_value=2)
words = st.text(alphabet="aAbB", min_size=1, max_size=2)
values = st.one_of(st.text(alphabet=chars, max_size=4), numbers.map(str), words)


@st.composite
def wildcard_patterns(draw: st.DrawFn) -> tuple[str | None, ...]:
    items = draw(st.lists(st.one_of(st.sampled_from(["", None]), st.text(alphabet=chars, min_size=1, max_size=2)),
                          min_size=1, max_size=4))
    return tuple(c for item in items for c in ([item] if item in ("", None) else list(item)))


leaves = st.one_of(
    st.builds(Leaf, fields, st.just("exact"), literals.map(tuple)),
    st.builds(Leaf, fields, st.just("quoted"), st.text(alphabet=chars, max_size=4).map(tuple)),
    st.builds(Leaf, fields, st.just("wildcard"), wildcard_patterns()),
    st.builds(Leaf, fields, st.just("exists")),
    st.builds(Leaf, fields, st.just("range"), st.just(()), st.none() | numbers, st.none() | numbers,
              st.booleans(), st.booleans()),
    st.builds(Leaf, fields, st.just("range"), st.just(()), words, words, st.booleans(), st.booleans()),
    st.builds(Leaf, fields, st.just("compare"), st.just(()), numbers, operator=st.sampled_from(["<", "<=", ">", ">="])),
)


def compound(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.builds(Bool, st.just("not"), st.tuples(children), st.booleans()),
        st.builds(Bool, st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3).map(tuple),
                  st.booleans()),
    )


trees = st.recursive(leaves, compound, max_leaves=8)
records = st.dictionaries(fields, st.none() | values | st.lists(values, max_size=3), min_size=3, max_size=len(FIELDS))


@settings(max_examples=300, deadline=None)
@given(trees, st.lists(records, min_size=1, max_size=4))
def test_a_rendered_tree_parses_to_a_query_that_agrees_with_the_tree(tree: Tree, samples: list[Record]) -> None:
    query = parse_query(render(tree))
    assert query.fields() == tree_fields(tree)
    for record in samples:
        assert query.matches(record) is evaluate(tree, record)


@settings(deadline=None)
@given(trees, records, st.booleans())
def test_not_q_matches_exactly_when_q_does_not(tree: Tree, record: Record, hyphen: bool) -> None:
    text = render(tree)
    negated = parse_query(("-(" if hyphen else "NOT (") + text + ")")
    assert negated.matches(record) is not parse_query(text).matches(record)


@given(st.text(min_size=1, max_size=12), st.data())
def test_question_marks_in_place_of_characters_still_match_the_literal(literal: str, data: st.DataObject) -> None:
    holes = data.draw(st.sets(st.integers(min_value=0, max_value=len(literal) - 1)))
    pattern = "".join("?" if i in holes else "\\" + c for i, c in enumerate(literal))
    assert parse_query("attributes.name:" + pattern).matches({"attributes.name": literal})
    assert parse_query("attributes.name:" + pattern + "*").matches({"attributes.name": literal})
    if literal.isascii():
        assert parse_query("attributes.name:" + pattern).matches({"attributes.name": literal.swapcase()})


@given(st.lists(st.tuples(st.text(max_size=3), st.booleans()), min_size=1, max_size=5))
def test_stars_in_place_of_any_runs_still_match_the_literal(pieces: list[tuple[str, bool]]) -> None:
    literal = "".join(piece for piece, _ in pieces)
    pattern = "".join("*" if starred else "".join("\\" + c for c in piece) for piece, starred in pieces)
    assert parse_query("Name:" + (pattern or '""')).matches({"Name": literal})


@given(st.one_of(st.text(max_size=40), st.text(alphabet=CHARS + "TONADR<>=\te5", max_size=40)))
def test_parse_raises_nothing_but_invalid_input(text: str) -> None:
    try:
        query = parse_query(text)
    except InvalidInput as exc:
        assert exc.message.startswith("queryString: ")
        assert exc.field == "queryString"
        return
    assert isinstance(query.matches(THING), bool)
    assert isinstance(query.matches({}), bool)


# -- rewriting (managed-integrations target queries become things queries) ---------------------------------


@settings(max_examples=300, deadline=None)
@given(trees, st.lists(records, min_size=1, max_size=4))
def test_render_writes_text_that_means_the_same_query(tree: Tree, samples: list[Record]) -> None:
    query = parse_query(render(tree))
    text = render_node(query.root)
    again = parse_query(text)
    assert again.fields() == query.fields()
    assert render_node(again.root) == text  # a fixed point
    for record in samples:
        assert again.matches(record) is query.matches(record)


@settings(deadline=None)
@given(trees, records)
def test_renamed_fields_read_the_renamed_record(tree: Tree, record: Record) -> None:
    query = parse_query(render(tree))
    moved = parse_query(render_node(renamed(query.root, lambda name: f"x.{name}")))
    assert moved.fields() == {f"x.{name}" for name in query.fields()}
    assert moved.matches({f"x.{k}": v for k, v in record.items()}) is query.matches(record)


@pytest.mark.parametrize(("text", "rendered"), [
    ("a:b", 'a:"b"'),
    ("a:b* OR c:d AND e:f", 'a:b* OR c:"d" AND e:"f"'),
    ("(a:b OR c:d) e:f", '(a:"b" OR c:"d") AND e:"f"'),
    (r"NOT (a:x\ y* OR b:[1 TO *})", r"NOT (a:x\ y* OR b:[" + '"1" TO *])'),
    ("a:* -b:c *", 'a:* AND NOT b:"c" AND *'),
    ("a>=2", 'a:["2" TO *]'),
])
def test_render_examples(text: str, rendered: str) -> None:
    assert render_node(parse_query(text).root) == rendered
