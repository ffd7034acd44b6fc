"""Topic parsing and the reply topics (iot-jobs-mqtt.md section 1, ota-update-job.md section 3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.gateway.topics import (
    Describe,
    Format,
    GetPending,
    InvalidTopic,
    Request,
    StartNext,
    StreamDescribe,
    StreamGet,
    Update,
    accepted_topic,
    data_topic,
    description_topic,
    notify_next_topic,
    notify_topic,
    parse_topic,
    rejected_topic,
    render,
    stream_rejected_topic,
)

T = "$aws/things/dev-1:a_b"


@pytest.mark.parametrize(("topic", "request_"), [
    (f"{T}/jobs/get", GetPending("dev-1:a_b")),
    (f"{T}/jobs/start-next", StartNext("dev-1:a_b")),
    (f"{T}/jobs/$next/get", Describe("dev-1:a_b", "$next")),
    (f"{T}/jobs/AFR_OTA-fw-1/get", Describe("dev-1:a_b", "AFR_OTA-fw-1")),
    (f"{T}/jobs/get/get", Describe("dev-1:a_b", "get")),  # "get" is a fine job id
    (f"{T}/jobs/j_1/update", Update("dev-1:a_b", "j_1")),
    (f"{T}/streams/AFR_OTA-1234/get/cbor", StreamGet("dev-1:a_b", "AFR_OTA-1234", Format.CBOR)),
    (f"{T}/streams/s/get/json", StreamGet("dev-1:a_b", "s", Format.JSON)),
    (f"{T}/streams/s/describe/json", StreamDescribe("dev-1:a_b", "s", Format.JSON)),
    (f"{T}/streams/s/describe/cbor", StreamDescribe("dev-1:a_b", "s", Format.CBOR)),
])
def test_every_request_topic(topic: str, request_: Request) -> None:
    assert parse_topic(topic) == request_
    assert render(request_) == topic


@pytest.mark.parametrize("topic", [
    f"{T}/jobs", f"{T}/jobs/", f"{T}/jobs/list", f"{T}/jobs/notify", f"{T}/jobs/notify-next",
    f"{T}/jobs/get/accepted", f"{T}/jobs/start-next/accepted", f"{T}/jobs/$next/update",
    f"{T}/jobs/j1/delete", f"{T}/jobs/j1/get/accepted", f"{T}/jobs/{'j' * 65}/get", f"{T}/jobs/a.b/get",
    f"{T}/jobs//get", f"{T}/jobs/$prev/get", "$aws/things/a b/jobs/get", f"$aws/things/{'t' * 129}/jobs/get",
    "$aws/things//jobs/get",
])
def test_wrong_jobs_topics_are_invalid_and_rejected_under_themselves(topic: str) -> None:
    parsed = parse_topic(topic)
    assert isinstance(parsed, InvalidTopic)
    assert (parsed.reply_topic, parsed.namespace, parsed.fmt) == (f"{topic}/rejected", "jobs", Format.JSON)


@pytest.mark.parametrize("topic", [
    f"{T}/streams", f"{T}/streams/s", f"{T}/streams/s/get", f"{T}/streams/s/get/xml", f"{T}/streams/s/data/cbor/x",
    f"{T}/streams/a.b/get/cbor", f"{T}/streams/{'s' * 129}/get/json", f"{T}/streams//get/json",
])
def test_wrong_stream_topics_are_invalid(topic: str) -> None:
    parsed = parse_topic(topic)
    assert isinstance(parsed, InvalidTopic)
    assert (parsed.reply_topic, parsed.namespace, parsed.fmt) == (f"{topic}/rejected", "streams", Format.JSON)


def test_a_wrong_stream_operation_is_rejected_on_the_streams_rejected_topic_in_its_format() -> None:
    parsed = parse_topic(f"{T}/streams/s/data/cbor")
    assert isinstance(parsed, InvalidTopic)
    assert (parsed.reply_topic, parsed.fmt) == (f"{T}/streams/s/rejected/cbor", Format.CBOR)


@pytest.mark.parametrize("topic", [
    "", "a/b", "$aws/things", "$aws/things/t", "$aws/things/t/shadow/update", "$aws/things/t/jobsx/get",
    "$aws/rules/r", "aws/things/t/jobs/get", "$aws/Things/t/jobs/get", "$aws/events/job/j1/completed",
])
def test_topics_outside_our_namespaces_are_not_ours(topic: str) -> None:
    assert parse_topic(topic) is None


def test_reply_topics() -> None:
    assert accepted_topic(GetPending("t")) == "$aws/things/t/jobs/get/accepted"
    assert rejected_topic(StartNext("t")) == "$aws/things/t/jobs/start-next/rejected"
    assert accepted_topic(Describe("t", "$next")) == "$aws/things/t/jobs/$next/get/accepted"
    assert rejected_topic(Update("t", "j1")) == "$aws/things/t/jobs/j1/update/rejected"
    assert notify_topic("t") == "$aws/things/t/jobs/notify"
    assert notify_next_topic("t") == "$aws/things/t/jobs/notify-next"
    assert data_topic("t", "s", Format.CBOR) == "$aws/things/t/streams/s/data/cbor"
    assert description_topic("t", "s", Format.JSON) == "$aws/things/t/streams/s/description/json"
    assert stream_rejected_topic("t", "s", Format.CBOR) == "$aws/things/t/streams/s/rejected/cbor"


things = st.text("abcXYZ019:_-", min_size=1, max_size=128)
job_ids = st.text("abcXYZ019_-", min_size=1, max_size=64)
stream_ids = st.text("abcXYZ019_-", min_size=1, max_size=128)
formats = st.sampled_from(Format)
requests = st.one_of(
    st.builds(GetPending, things), st.builds(StartNext, things),
    st.builds(Describe, things, st.one_of(job_ids, st.just("$next"))), st.builds(Update, things, job_ids),
    st.builds(StreamGet, things, stream_ids, formats), st.builds(StreamDescribe, things, stream_ids, formats),
)


@given(requests)
def test_parse_inverts_render(request_: Request) -> None:
    assert parse_topic(render(request_)) == request_


@given(st.text(st.characters(codec="utf-8"), max_size=40), st.lists(st.text("ab$/-_.", max_size=6), max_size=5))
def test_any_topic_parses_to_a_request_an_invalid_topic_or_nothing(thing: str, rest: list[str]) -> None:
    for namespace in ("jobs", "streams"):
        topic = "/".join(["$aws", "things", thing, namespace, *rest])
        parsed = parse_topic(topic)
        if isinstance(parsed, InvalidTopic):
            assert parsed.namespace == namespace and parsed.topic == topic
        elif parsed is not None:
            assert render(parsed) == topic
