"""Model constraints as AWS enforces them: Java patterns, lengths, ranges, enums, nesting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.aws.spec import SIGNING_NAMES, service_model
from otahub.aws.validate import compiled_pattern, validate_input

# Patterns in the botocore models that are not valid regular expressions in any dialect.
KNOWN_BROKEN = {"[^-A-Za-z0-9+/=]|=[^=]|={3,}${1,4096}"}


def all_patterns() -> set[str]:
    patterns = set()
    for name in SIGNING_NAMES.values():
        model = service_model(name)
        for shape_name in model.shape_names:
            pattern = model.shape_for(shape_name).metadata.get("pattern")
            if pattern:
                patterns.add(pattern)
    return patterns


def test_every_model_pattern_compiles_except_the_known_broken_ones() -> None:
    broken = {p for p in all_patterns() if compiled_pattern(p) is None}
    assert broken == KNOWN_BROKEN


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        ("[^\\p{Cntrl}]*", "plain text", "bell\x07"),
        ("[\\p{Graph}\\x20]*", "Sensor board rev B", "tab\there"),
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "équipe 1", "semi;colon"),
        ("[a-zA-Z0-9\\s'\\x{0022},.:\\\\\\/{$}\\[\\]=_\\-\\+]+", 'say "hi"', "pipe|"),
        ("[\\w+=,.@-]+", "a_b", "é"),  # Java's \w is ASCII-only
        ("\\S{2}", "a\xa0", "a "),  # so Java's \S admits Unicode-only white space
        ("\\d+", "42", "٤٢"),
    ],
)
def test_java_pattern_dialect(pattern: str, good: str, bad: str) -> None:
    compiled = compiled_pattern(pattern)
    assert compiled is not None
    assert compiled.fullmatch(good) and not compiled.fullmatch(bad)


def create_thing_shape():  # type: ignore[no-untyped-def]
    return service_model("iot").operation_model("CreateThing").input_shape


@given(st.text(alphabet="abc:_-", min_size=1, max_size=200))
def test_length_limit_is_exactly_the_model_maximum(name: str) -> None:
    problems = validate_input(create_thing_shape(), {"thingName": name}).problems
    assert (len(problems) == 0) == (len(name) <= 128)


@given(st.integers(min_value=-5, max_value=300))
def test_range_is_exactly_the_model_range(value: int) -> None:
    shape = service_model("iot").operation_model("ListThings").input_shape
    problems = validate_input(shape, {"maxResults": value}).problems
    assert (len(problems) == 0) == (1 <= value <= 250)
    if problems:
        assert problems[0][0] == "maxResults"


def test_problems_name_nested_members_and_count() -> None:
    shape = service_model("iot").operation_model("CreateThingGroup").input_shape
    report = validate_input(shape, {
        "thingGroupName": "g",
        "thingGroupProperties": {"attributePayload": {"attributes": {"k": "bad value"}, "merge": "yes"}},
        "tags": [{"Value": "v"}],
    })
    paths = [p for p, _ in report.problems]
    assert "thingGroupProperties.attributePayload.attributes.k" in paths
    assert "thingGroupProperties.attributePayload.merge" in paths
    assert "tags.1.member.Key" in paths
    assert report.message().startswith("3 validation errors detected: ")


def test_timestamps_and_enums() -> None:
    shape = service_model("iot").operation_model("ListJobs").input_shape
    assert validate_input(shape, {"status": "IN_PROGRESS"}).problems == []
    assert validate_input(shape, {"status": "DONE"}).problems[0][0] == "status"
    wireless = service_model("iotwireless").operation_model("StartFuotaTask").input_shape
    ok = {"Id": "abc", "LoRaWAN": {"StartTime": datetime(2026, 1, 1, tzinfo=UTC)}}
    assert validate_input(wireless, ok).problems == []
    assert validate_input(wireless, {"Id": "abc", "LoRaWAN": {"StartTime": "soon"}}).problems
