"""The AWS CLI v1 (a subprocess) against otahub's iot-managed-integrations: the seed's create-ota-task command
forms, shorthand and JSON, then get-ota-task and list-ota-task-executions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.managed_helpers import document_url, managed_thing, mi, viot, vserver
from tests.e2e.test_aws_cli import aws, ok
from tests.harness import OtahubServer

__all__ = ["document_url", "mi", "viot", "vserver"]  # fixtures

WINDOW_CRON = "cron(0 2 * * ? *)"


def _created(server: OtahubServer, *args: str) -> str:
    result = aws(server, "iot-managed-integrations", "create-ota-task", *args, "--debug")
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"POST /ota-tasks HTTP/1.1" 201 ' in result.stderr  # urllib3's debug line: the model's 201
    return str(json.loads(result.stdout)["TaskId"])


@pytest.mark.parametrize("form", ["shorthand", "json"])
def test_cli_create_ota_task_seed_forms(vserver: OtahubServer, mi: Any, document_url: str, form: str) -> None:
    things = [managed_thing(mi), managed_thing(mi)]
    target = f"arn:aws:iotmanagedintegrations:us-east-1:123456789012:managed-thing/{things[0]}"
    if form == "shorthand":
        scheduling = f"EndBehavior=CANCEL,MaintenanceWindows=[{{DurationInMinutes=60,StartTime={WINDOW_CRON}}}]"
        retry = "RetryConfigCriteria=[{FailureType=FAILED,MinNumberOfRetries=2}]"
        tags = "release=2,team=fw"
    else:
        scheduling = json.dumps({"EndBehavior": "CANCEL", "MaintenanceWindows": [
            {"DurationInMinutes": 60, "StartTime": WINDOW_CRON}]})
        retry = json.dumps({"RetryConfigCriteria": [{"FailureType": "FAILED", "MinNumberOfRetries": 2}]})
        tags = json.dumps({"release": "2", "team": "fw"})
    task_id = _created(
        vserver, "--s3-url", document_url, "--ota-type", "ONE_TIME", "--target", target, things[1],
        "--description", "cli rollout", "--protocol", "HTTP", "--ota-mechanism", "PUSH",
        "--ota-scheduling-config", scheduling, "--ota-task-execution-retry-config", retry, "--tags", tags,
    )
    got = ok(vserver, "iot-managed-integrations", "get-ota-task", "--identifier", task_id)
    assert got["OtaSchedulingConfig"] == {"EndBehavior": "CANCEL", "MaintenanceWindows": [
        {"DurationInMinutes": 60, "StartTime": WINDOW_CRON}]}
    assert got["OtaTaskExecutionRetryConfig"] == {"RetryConfigCriteria": [
        {"FailureType": "FAILED", "MinNumberOfRetries": 2}]}
    assert (got["Target"], got["Tags"], got["Description"], got["Status"]) == (
        [target, things[1]], {"release": "2", "team": "fw"}, "cli rollout", "IN_PROGRESS")
    vserver.advance_clock(24 * 3600)  # the 02:00 window has opened: both things are notified
    listed = ok(vserver, "iot-managed-integrations", "list-ota-task-executions", "--identifier", task_id)
    summaries = {e["ManagedThingId"]: e["TaskExecutionSummary"] for e in listed["ExecutionSummaries"]}
    assert set(summaries) == set(things)
    assert all((s["Status"], s["ExecutionNumber"], s["RetryAttempt"]) == ("QUEUED", 1, 0)
               for s in summaries.values())


def test_cli_errors_name_the_member(vserver: OtahubServer, document_url: str) -> None:
    result = aws(vserver, "iot-managed-integrations", "create-ota-task", "--s3-url", "s3://no-bucket-here/x.json",
                 "--ota-type", "ONE_TIME", "--ota-target-query-string", "Brand:acme")
    assert result.returncode != 0
    assert "ValidationException" in result.stderr and "S3Url" in result.stderr
    result = aws(vserver, "iot-managed-integrations", "get-ota-task", "--identifier", "nosuchtask")
    assert result.returncode != 0 and "ResourceNotFoundException" in result.stderr
