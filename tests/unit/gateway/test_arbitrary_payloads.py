"""Whatever bytes a device publishes, the handlers answer with replies, never an exception: arbitrary
bytes, arbitrary JSON and CBOR values, and maps of the real keys with values of every type."""

from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otahub.gateway.topics import Format
from tests.unit.gateway.conftest import Gateway, memory_topics

JOBS_CODES = {"InvalidJson", "InvalidRequest", "ResourceNotFound", "VersionMismatch", "InvalidStateTransition",
              "TerminalStateReached"}
STREAM_CODES = {"InvalidJson", "InvalidCbor", "InvalidRequest", "BlockSizeOutOfBounds", "OffsetOutOfBounds",
                "BlockCountLimitExceeded", "BlockBitmapLimitExceeded", "ResourceNotFound", "VersionMismatch"}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=80),
                    st.integers(0, 300), st.sampled_from(["IN_PROGRESS", "SUCCEEDED", "REJECTED", "3", "$next"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)
cbor_values = st.recursive(st.one_of(scalars, st.binary(max_size=40)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=4), inner, max_size=4)),
                           max_leaves=12)
JOB_KEYS = ["clientToken", "status", "statusDetails", "expectedVersion", "executionNumber", "includeJobDocument",
            "includeJobExecutionState", "stepTimeoutInMinutes"]
STREAM_KEYS = ["c", "f", "l", "o", "n", "b", "s"]


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


job_payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(json_bytes),
    st.dictionaries(st.sampled_from(JOB_KEYS), json_values, max_size=8).map(json_bytes),
)
stream_values = st.one_of(cbor_values, st.builds(lambda n: bytes(n), st.sampled_from([12287, 12288])))


def stream_payload(fmt: Format) -> st.SearchStrategy[bytes]:
    encode = cbor2.dumps if fmt is Format.CBOR else json_bytes
    values = stream_values if fmt is Format.CBOR else json_values
    return st.one_of(st.binary(max_size=200), values.map(encode),
                     st.dictionaries(st.sampled_from(STREAM_KEYS), values, max_size=7).map(encode))


@pytest.fixture
def two_jobs(gw: Gateway) -> Gateway:
    """Thing dev1 with jobs j1 and j2, shared by every example (updates move them on, as a device would)."""
    gw.thing("dev1")
    gw.job("j1", "dev1")
    gw.job("j2", "dev1")
    return gw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["get", "start-next", "$next/get", "j1/get", "j1/update", "j2/update", "nope/update"]),
       job_payloads)
def test_jobs_requests_never_raise(two_jobs: Gateway, topic: str, payload: bytes) -> None:
    full = f"$aws/things/dev1/jobs/{topic}"
    [out] = two_jobs.topics.handle("dev1", full, payload)
    body = json.loads(out.payload)
    assert out.topic in (f"{full}/accepted", f"{full}/rejected")
    assert isinstance(body["timestamp"], int)
    if out.topic.endswith("/rejected"):
        assert body["code"] in JOBS_CODES and isinstance(body["message"], str)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(Format), st.sampled_from(["get", "describe"]), st.data())
def test_stream_requests_never_raise(fmt: Format, op: str, data: st.DataObject) -> None:
    streams, _, topics = memory_topics()
    streams.add("s", bytes(range(256)) * 20)
    payload = data.draw(stream_payload(fmt))
    replies = topics.handle("dev1", f"$aws/things/dev1/streams/s/{op}/{fmt}", payload)
    decode = cbor2.loads if fmt is Format.CBOR else json.loads
    assert replies or op == "get"  # a get may name no block at all
    for out in replies:
        body = decode(out.payload)
        if out.topic.endswith(f"/rejected/{fmt}"):
            assert len(replies) == 1 and body["o"] in STREAM_CODES
        else:
            assert out.topic.endswith(f"/data/{fmt}" if op == "get" else f"/description/{fmt}")
