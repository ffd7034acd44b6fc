"""The notify and notify-next payloads (iot-jobs-mqtt.md sections 3.5 and 3.6) and the request fields."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from otahub.domain.executions import Execution, ExecutionStatus
from otahub.gateway import job_requests as fields
from otahub.gateway.jobs import notify_next_payload, notify_payload
from otahub.gateway.messages import Refused
from tests.unit.gateway.conftest import START, Gateway, document

NOW = 1770701736


def execution(job_id: str, status: ExecutionStatus, queued_second: int) -> Execution:
    queued = START + timedelta(seconds=queued_second)
    started = queued + timedelta(seconds=1) if status == ExecutionStatus.IN_PROGRESS else None
    return Execution(job_id, "dev1", 1, status, queued, started or queued, version=2 if started else 1,
                     started_at=started)


def test_nothing_pending() -> None:
    assert notify_payload([], [], START) == b'{"timestamp":%d,"jobs":{}}' % NOW


def test_in_progress_first_then_queued_each_by_queue_time_at_most_ten() -> None:
    in_progress = [execution(f"p{i}", ExecutionStatus.IN_PROGRESS, 10 - i) for i in range(3)]
    queued = [execution(f"q{i}", ExecutionStatus.QUEUED, 20 - i) for i in range(9)]
    body = json.loads(notify_payload(in_progress, queued, START))
    assert list(body) == ["timestamp", "jobs"] and list(body["jobs"]) == ["IN_PROGRESS", "QUEUED"]
    assert [s["jobId"] for s in body["jobs"]["IN_PROGRESS"]] == ["p2", "p1", "p0"]
    assert [s["jobId"] for s in body["jobs"]["QUEUED"]] == [f"q{i}" for i in range(8, 1, -1)]  # 10 in all
    assert body["jobs"]["IN_PROGRESS"][0] == {"jobId": "p2", "queuedAt": NOW + 8, "startedAt": NOW + 9,
                                              "lastUpdatedAt": NOW + 9, "versionNumber": 2, "executionNumber": 1}
    assert body["jobs"]["QUEUED"][0] == {"jobId": "q8", "queuedAt": NOW + 12, "lastUpdatedAt": NOW + 12,
                                         "versionNumber": 1, "executionNumber": 1}


def test_empty_lists_are_left_out() -> None:
    only_queued = json.loads(notify_payload([], [execution("q", ExecutionStatus.QUEUED, 0)], START))
    assert list(only_queued["jobs"]) == ["QUEUED"]
    many = [execution(f"p{i:02}", ExecutionStatus.IN_PROGRESS, i) for i in range(12)]
    only_running = json.loads(notify_payload(many, [execution("q", ExecutionStatus.QUEUED, 0)], START))
    assert list(only_running["jobs"]) == ["IN_PROGRESS"] and len(only_running["jobs"]["IN_PROGRESS"]) == 10


def test_notify_next(gw: Gateway) -> None:
    gw.thing("dev1")
    gw.job("j1", "dev1")
    assert notify_next_payload(None, START, document) == b'{"timestamp":%d}' % NOW
    view = gw.devices.describe("dev1", "$next", None)
    body = json.loads(notify_next_payload(view, START + timedelta(seconds=5), document))
    assert list(body) == ["timestamp", "execution"] and body["timestamp"] == NOW + 5
    assert body["execution"]["jobId"] == "j1" and body["execution"]["status"] == "QUEUED"
    assert body["execution"]["jobDocument"]["afr_ota"]["files"][0]["update_data_url"].startswith("https://otahub")


@pytest.mark.parametrize(("value", "expected"), [
    (3, 3), ("3", 3), ("0", 0), ("007", 7), ("-1", -1), (None, None), (str(2**63 - 1), 2**63 - 1)])
def test_expected_version_as_number_or_numeric_string(value: object, expected: int | None) -> None:
    assert fields.expected_version({"expectedVersion": value}) == expected


@pytest.mark.parametrize("value", ["", " 3", "3 ", "+3", "0x3", "\u0663", str(2**63), "1e3", [3], 3.0])
def test_expected_version_refused(value: object) -> None:
    with pytest.raises(Refused) as refused:
        fields.expected_version({"expectedVersion": value})
    assert refused.value.code == "InvalidRequest"


def test_status_details_edges() -> None:
    details = {"k" * 128: "v" * 1024, "a:b_c-D9": "accepted  v0.9.1", "x": "\u00e9\u4e2d"}
    assert fields.status_details({"statusDetails": details}) == details
    assert fields.status_details({"statusDetails": {}}) == {}
    assert fields.status_details({}) is None and fields.status_details({"statusDetails": None}) is None
