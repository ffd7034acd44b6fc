"""JobsTopics on SQLite: every jobs request and rejection of iot-jobs-mqtt.md section 3, and the FreeRTOS
OTA agent's exact payloads (ota-update-job.md section 4)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from otahub.domain.documents import ObjectRef
from otahub.domain.jobs import JobConfig
from tests.unit.gateway.conftest import Gateway, url_for

NOW = 1770701736  # START in epoch seconds
SECOND = timedelta(seconds=1)
URL = url_for(ObjectRef("fw-images", "demo.bin"))


def queued_three(gw: Gateway) -> None:
    gw.thing("dev1")
    for job_id in ("j1", "j2", "j3"):
        gw.job(job_id, "dev1")
        gw.clock.advance(SECOND)


def test_get_pending_lists_in_progress_then_queued_summaries(gw: Gateway) -> None:
    queued_three(gw)
    assert gw.reply("dev1", "j2/update", {"status": "IN_PROGRESS"})[0] == "accepted"
    gw.clock.advance(SECOND)
    assert gw.reply("dev1", "get", {"clientToken": "abc"}) == ("accepted", {
        "inProgressJobs": [{"jobId": "j2", "queuedAt": NOW + 1, "startedAt": NOW + 3, "lastUpdatedAt": NOW + 3,
                            "versionNumber": 2, "executionNumber": 1}],
        "queuedJobs": [
            {"jobId": "j1", "queuedAt": NOW, "lastUpdatedAt": NOW, "versionNumber": 1, "executionNumber": 1},
            {"jobId": "j3", "queuedAt": NOW + 2, "lastUpdatedAt": NOW + 2, "versionNumber": 1, "executionNumber": 1},
        ],
        "timestamp": NOW + 4, "clientToken": "abc",
    })


def test_an_empty_payload_is_an_empty_request(gw: Gateway) -> None:
    gw.thing("dev1")
    [out] = gw.publish("dev1", "get", b"")
    assert out.payload == b'{"inProgressJobs":[],"queuedJobs":[],"timestamp":%d}' % NOW


def test_the_freertos_ota_agent_start_next_to_succeeded(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("AFR_OTA-fw", "dev1")
    gw.clock.advance(SECOND)
    topic, started = gw.reply("dev1", "start-next", {"clientToken": "0:dev1"})
    assert topic == "accepted"
    assert started == {"execution": {
        "jobId": "AFR_OTA-fw", "thingName": "dev1", "status": "IN_PROGRESS", "queuedAt": NOW,
        "startedAt": NOW + 1, "lastUpdatedAt": NOW + 1, "versionNumber": 2, "executionNumber": 1,
        "jobDocument": started["execution"]["jobDocument"]}, "timestamp": NOW + 1, "clientToken": "0:dev1"}
    files = started["execution"]["jobDocument"]["afr_ota"]["files"]  # an object, with the URL substituted
    assert files[0]["update_data_url"] == URL and files[0]["filesize"] == 1164016
    progress = [
        b'{"status":"IN_PROGRESS","statusDetails":{"receive":"1/285"}}',
        b'{"status":"IN_PROGRESS","statusDetails":{"receive":"65/285"}}',
        b'{"status":"IN_PROGRESS","statusDetails":{"self_test":"ready","updatedBy":"0x00090000"}}',
    ]
    for payload in progress:
        [out] = gw.publish("dev1", "AFR_OTA-fw/update", payload)
        assert (out.topic, out.payload, out.qos) == (
            "$aws/things/dev1/jobs/AFR_OTA-fw/update/accepted", b'{"timestamp":%d}' % (NOW + 1), 1)
    # rebooted into the new image: the agent asks $next/get and finds its self-test state
    topic, described = gw.reply("dev1", "$next/get", b'{"clientToken":"1:dev1"}')
    execution = described["execution"]
    assert execution["statusDetails"] == {"self_test": "ready", "updatedBy": "0x00090000"}
    assert execution["versionNumber"] == 5 and described["clientToken"] == "1:dev1"
    for payload in (b'{"status":"IN_PROGRESS","statusDetails":{"self_test":"active","updatedBy":"0x00090100"}}',
                    b'{"status":"SUCCEEDED","statusDetails":{"reason":"accepted  v0.9.1","updatedBy":"  v0.9.0"}}'):
        assert gw.reply("dev1", "AFR_OTA-fw/update", payload) == ("accepted", {"timestamp": NOW + 1})
    final = gw.jobs.describe_execution("AFR_OTA-fw", "dev1", None)
    assert (final.status.value, final.version) == ("SUCCEEDED", 7)
    assert final.status_details == {"reason": "accepted  v0.9.1", "updatedBy": "  v0.9.0"}
    [out] = gw.publish("dev1", "$next/get", b'{"clientToken":"2:dev1"}')  # nothing pending: no execution
    assert out.payload == b'{"timestamp":%d,"clientToken":"2:dev1"}' % (NOW + 1)
    assert gw.reply("dev1", "start-next", {}) == ("accepted", {"timestamp": NOW + 1})


def test_the_freertos_agent_reports_a_rejected_image_as_failed(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("AFR_OTA-fw", "dev1")
    gw.reply("dev1", "start-next")
    assert gw.reply("dev1", "AFR_OTA-fw/update",
                    b'{"status":"FAILED","statusDetails":{"reason":"rejected: 0x00000001"}}')[0] == "accepted"
    assert gw.jobs.describe_execution("AFR_OTA-fw", "dev1", None).status.value == "FAILED"


def test_start_next_sets_details_and_the_step_timer_once(gw: Gateway) -> None:
    queued_three(gw)
    _, first = gw.reply("dev1", "start-next", {"statusDetails": {"step": "download"}, "stepTimeoutInMinutes": 10})
    assert first["execution"]["statusDetails"] == {"step": "download"}
    assert first["execution"]["approximateSecondsBeforeTimedOut"] == 600
    gw.clock.advance(timedelta(seconds=30))
    _, again = gw.reply("dev1", "start-next", {"statusDetails": {"step": "other"}})
    assert again["execution"]["statusDetails"] == {"step": "download"}  # already IN_PROGRESS: unchanged
    assert again["execution"]["approximateSecondsBeforeTimedOut"] == 570
    assert again["execution"]["jobId"] == "j1" and again["execution"]["versionNumber"] == 2


def test_describe_with_and_without_the_document(gw: Gateway) -> None:
    queued_three(gw)
    _, full = gw.reply("dev1", "j2/get")
    assert full["execution"]["jobDocument"]["afr_ota"]["streamname"] == "AFR_OTA-945d320b"
    _, bare = gw.reply("dev1", "j2/get", {"includeJobDocument": False, "executionNumber": 1, "clientToken": ""})
    assert bare == {"execution": {"jobId": "j2", "thingName": "dev1", "status": "QUEUED", "queuedAt": NOW + 1,
                                  "lastUpdatedAt": NOW + 1, "versionNumber": 1, "executionNumber": 1},
                    "timestamp": NOW + 3, "clientToken": ""}
    _, after = gw.reply("dev1", "$next/get", {"includeJobDocument": False})
    assert after["execution"]["jobId"] == "j1" and after["execution"]["status"] == "QUEUED"  # nothing changed


def test_a_job_document_that_is_no_json_is_sent_as_text(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("j1", "dev1", doc="not json")
    assert gw.reply("dev1", "j1/get")[1]["execution"]["jobDocument"] == "not json"


def rejected(gw: Gateway, thing: str, topic: str, payload: Any = b"") -> dict[str, Any]:
    suffix, body = gw.reply(thing, topic, payload)
    assert suffix == "rejected"
    assert isinstance(body, dict)
    return body


def test_version_mismatch_with_a_quoted_expected_version_shows_the_state(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("j1", "dev1")
    gw.reply("dev1", "start-next", {"statusDetails": {"a": "1"}})
    body = rejected(gw, "dev1", "j1/update", {"status": "SUCCEEDED", "expectedVersion": "1", "clientToken": "t"})
    assert list(body) == ["code", "message", "clientToken", "timestamp", "executionState"]
    assert body["code"] == "VersionMismatch" and body["clientToken"] == "t" and body["timestamp"] == NOW
    assert body["executionState"] == {"status": "IN_PROGRESS", "statusDetails": {"a": "1"}, "versionNumber": 2}
    _, ok = gw.reply("dev1", "j1/update", {"status": "IN_PROGRESS", "expectedVersion": "2",
                                           "includeJobExecutionState": True, "includeJobDocument": True})
    assert ok["executionState"] == {"status": "IN_PROGRESS", "statusDetails": {"a": "1"}, "versionNumber": 3}
    assert ok["jobDocument"]["afr_ota"]["files"][0]["update_data_url"] == URL
    assert list(ok) == ["executionState", "jobDocument", "timestamp"]
    assert rejected(gw, "dev1", "j1/update", {"status": "IN_PROGRESS", "expectedVersion": 2})["code"] == \
        "VersionMismatch"
    assert gw.reply("dev1", "j1/update", {"status": "IN_PROGRESS", "expectedVersion": 3})[0] == "accepted"


def test_in_progress_to_rejected_is_an_invalid_state_transition(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("j1", "dev1")
    gw.reply("dev1", "start-next")
    body = rejected(gw, "dev1", "j1/update", {"status": "REJECTED", "clientToken": "r"})
    assert body["code"] == "InvalidStateTransition"
    assert body["executionState"] == {"status": "IN_PROGRESS", "versionNumber": 2}
    gw.reply("dev1", "j1/update", {"status": "SUCCEEDED", "statusDetails": {"reason": "ok"}})
    again = rejected(gw, "dev1", "j1/update", {"status": "IN_PROGRESS"})  # a terminal execution's state too
    assert again["code"] == "InvalidStateTransition"
    assert again["executionState"] == {"status": "SUCCEEDED", "statusDetails": {"reason": "ok"}, "versionNumber": 3}
    assert "executionState" not in rejected(gw, "dev1", "j1/get")  # TerminalStateReached carries none


def test_not_found_and_terminal(gw: Gateway) -> None:
    gw.thing("dev1", "dev2")
    gw.job("j1", "dev1")
    for thing, topic in (("dev1", "nope/get"), ("dev1", "nope/update"), ("dev2", "j1/get"), ("ghost", "get"),
                         ("ghost", "start-next")):
        body = rejected(gw, thing, topic, {"status": "SUCCEEDED", "clientToken": "c"})
        assert (body["code"], body["clientToken"]) == ("ResourceNotFound", "c")
        assert "executionState" not in body
    assert rejected(gw, "dev1", "j1/get", {"executionNumber": 2})["code"] == "ResourceNotFound"
    gw.reply("dev1", "j1/update", {"status": "REJECTED"})  # QUEUED -> REJECTED is allowed
    assert rejected(gw, "dev1", "j1/get")["code"] == "TerminalStateReached"
    assert rejected(gw, "dev1", "nope/update", {"status": "SUCCEEDED", "expectedVersion": 3})["code"] == \
        "ResourceNotFound"


@pytest.mark.parametrize("payload", [b"{", b"\xff\xfe", b"{\"clientToken\":\"a\"", b"NaN", b'{"a":Infinity}',
                                     b" ", b"[1,", b"\xc3\x28"])
def test_invalid_json(gw: Gateway, payload: bytes) -> None:
    gw.thing("dev1")
    body = rejected(gw, "dev1", "get", payload)
    assert body["code"] == "InvalidJson" and "clientToken" not in body and body["timestamp"] == NOW


@pytest.mark.parametrize(("topic", "payload"), [
    ("get", []), ("get", "x"), ("get", 3),
    ("start-next", {"statusDetails": {"bad key": "v"}}),
    ("start-next", {"statusDetails": {"k" * 129: "v"}}),
    ("start-next", {"statusDetails": {"": "v"}}),
    ("start-next", {"statusDetails": {"k": ""}}),
    ("start-next", {"statusDetails": {"k": "v" * 1025}}),
    ("start-next", {"statusDetails": {"k": "line\nbreak"}}),
    ("start-next", {"statusDetails": {"k": "zero\u200bwidth"}}),  # Cf is \p{C} too
    ("start-next", {"statusDetails": {"k": 1}}),
    ("start-next", {"statusDetails": ["k"]}),
    ("start-next", {"stepTimeoutInMinutes": 0}),
    ("start-next", {"stepTimeoutInMinutes": -1}),  # only an update may cancel the step timer
    ("start-next", {"stepTimeoutInMinutes": 10081}),
    ("start-next", {"stepTimeoutInMinutes": "5"}),
    ("start-next", {"stepTimeoutInMinutes": 5.0}),
    ("j1/get", {"executionNumber": "1"}),
    ("j1/get", {"executionNumber": True}),
    ("j1/get", {"executionNumber": 2**63}),
    ("j1/get", {"includeJobDocument": "false"}),
    ("j1/update", {}),
    ("j1/update", {"status": "QUEUED"}),
    ("j1/update", {"status": "CANCELED"}),
    ("j1/update", {"status": "succeeded"}),
    ("j1/update", {"status": 1}),
    ("j1/update", {"status": "SUCCEEDED", "expectedVersion": "1.0"}),
    ("j1/update", {"status": "SUCCEEDED", "expectedVersion": "one"}),
    ("j1/update", {"status": "SUCCEEDED", "expectedVersion": 1.5}),
    ("j1/update", {"status": "SUCCEEDED", "expectedVersion": True}),
    ("j1/update", {"status": "SUCCEEDED", "includeJobExecutionState": 1}),
    ("j1/update", {"status": "IN_PROGRESS", "stepTimeoutInMinutes": -2}),
])
def test_invalid_requests_echo_the_token(gw: Gateway, topic: str, payload: Any) -> None:
    gw.thing("dev1")
    gw.job("j1", "dev1")
    if isinstance(payload, dict):
        payload = {**payload, "clientToken": "tok"}
    body = rejected(gw, "dev1", topic, payload)
    assert body["code"] == "InvalidRequest", body
    assert body.get("clientToken") == ("tok" if isinstance(payload, dict) else None)
    assert gw.jobs.describe_execution("j1", "dev1", None).version == 1  # nothing changed


def test_client_tokens(gw: Gateway) -> None:
    gw.thing("dev1")
    assert gw.reply("dev1", "get", {"clientToken": "t" * 64})[1]["clientToken"] == "t" * 64
    assert gw.reply("dev1", "get", {"clientToken": ":dev1"})[1]["clientToken"] == ":dev1"  # echo what arrives
    assert gw.reply("dev1", "get", {"clientToken": "\ud800\u00e9"})[1]["clientToken"] == "\ud800\u00e9"
    for token in ("t" * 65, 5, ["t"], {"t": 1}):
        body = rejected(gw, "dev1", "get", {"clientToken": token})
        assert body["code"] == "InvalidRequest" and "clientToken" not in body


def test_a_step_timer_can_be_canceled_and_reset_by_an_update(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("j1", "dev1", config=JobConfig(in_progress_timeout_minutes=60))
    gw.reply("dev1", "start-next", {"stepTimeoutInMinutes": 5})
    assert gw.reply("dev1", "j1/get")[1]["execution"]["approximateSecondsBeforeTimedOut"] == 300
    gw.reply("dev1", "j1/update", {"status": "IN_PROGRESS", "stepTimeoutInMinutes": -1})
    assert gw.reply("dev1", "j1/get")[1]["execution"]["approximateSecondsBeforeTimedOut"] == 3600
    gw.reply("dev1", "j1/update", {"status": "IN_PROGRESS", "stepTimeoutInMinutes": 1})
    assert gw.reply("dev1", "j1/get")[1]["execution"]["approximateSecondsBeforeTimedOut"] == 60


@pytest.mark.parametrize("topic", ["jobs/list", "jobs/$next/update", "jobs/j1/get/accepted", "jobs/notify"])
def test_invalid_topics_are_rejected_under_the_published_topic(gw: Gateway, topic: str) -> None:
    full = f"$aws/things/dev1/{topic}"
    [out] = gw.topics.handle("dev1", full, b'{"clientToken":"c1"}')
    body = json.loads(out.payload)
    assert out.topic == f"{full}/rejected" and out.qos == 1
    assert (body["code"], body["clientToken"], body["timestamp"]) == ("InvalidTopic", "c1", NOW)
    [bad_json] = gw.topics.handle("dev1", full, b"{")
    assert "clientToken" not in json.loads(bad_json.payload)


@pytest.mark.parametrize("topic", ["$aws/things/dev2/jobs/get", "$aws/things/dev2/jobs/x/y/z",
                                   "$aws/things/dev1/streams/s/get/json", "$aws/things/dev1/streams/x",
                                   "$aws/things/dev1/shadow/update", "$aws/things/bad name/jobs/get", "x"])
def test_topics_that_are_not_the_things_jobs_get_no_reply(gw: Gateway, topic: str) -> None:
    gw.thing("dev1", "dev2")
    assert gw.topics.handle("dev1", topic, b"{}") == []


def test_unknown_fields_are_ignored(gw: Gateway) -> None:
    gw.thing("dev1")
    assert gw.reply("dev1", "get", {"clientToken": "a", "foo": [1, {"b": None}], "statusDetails": 3})[0] == \
        "accepted"
