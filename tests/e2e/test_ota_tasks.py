"""Managed-integrations OTA tasks through boto3 on a virtual clock: each task is a face of one job, and every
setting acts through the one rollout engine (schedule, windows, end behaviours, retries, abort, timeout,
rollout rates, continuous pick-up by OtaTargetQueryString)."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import minutes, schedule_time, server_now
from tests.e2e.managed_helpers import (
    DOCUMENT,
    FIRMWARE,
    details,
    device,
    document_url,
    managed_thing,
    managed_things,
    mi,
    ota_task,
    push_config,
    report,
    start,
    status_of,
    statuses,
    task_executions,
    viot,
    vserver,
)
from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

__all__ = ["device", "document_url", "mi", "viot", "vserver"]  # fixtures

ARN = "arn:aws:iotmanagedintegrations:us-east-1:123456789012:{}/{}"


def succeed(device: Any, thing: str, task_id: str) -> None:
    start(device, thing)
    report(device, thing, task_id, "SUCCEEDED")


# --- a task is a job ---------------------------------------------------------------------------------


def test_create_ota_task_with_every_field(vserver: OtahubServer, mi: Any, viot: Any, document_url: str,
                                          unique: str) -> None:
    first, second = managed_things(mi, 2)
    brand = f"acme{unique}"
    managed_thing(mi, Brand=brand)
    push = {"AbortConfig": {"AbortConfigCriteriaList": [{
                "Action": "CANCEL", "FailureType": "FAILED", "MinNumberOfExecutedThings": 10,
                "ThresholdPercentage": 20.5}]},
            "RolloutConfig": {"MaximumPerMinute": 50, "ExponentialRolloutRate": {
                "BaseRatePerMinute": 5, "IncrementFactor": 1.5,
                "RateIncreaseCriteria": {"numberOfNotifiedThings": 10}}},
            "TimeoutConfig": {"InProgressTimeoutInMinutes": 60}}
    configuration = push_config(mi, **push)
    begin = (server_now(vserver) + timedelta(hours=1)).replace(second=0, microsecond=0)
    scheduling = {"StartTime": schedule_time(begin), "EndTime": schedule_time(begin + timedelta(hours=3)),
                  "EndBehavior": "STOP_ROLLOUT",
                  "MaintenanceWindows": [{"StartTime": "cron(0 2 * * ? *)", "DurationInMinutes": 120}]}
    retry = {"RetryConfigCriteria": [{"FailureType": "FAILED", "MinNumberOfRetries": 2},
                                     {"FailureType": "TIMED_OUT", "MinNumberOfRetries": 1}]}
    created = mi.create_ota_task(
        Description="firmware 2 0 0", S3Url=document_url, Protocol="HTTP",
        Target=[ARN.format("managed-thing", first), second], TaskConfigurationId=configuration, OtaMechanism="PUSH",
        OtaType="ONE_TIME", OtaTargetQueryString=f"Brand:{brand}", ClientToken=f"every-field-{unique}",
        OtaSchedulingConfig=scheduling, OtaTaskExecutionRetryConfig=retry, Tags={"release": "2.0.0", "team": "fw"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    task_id = created["TaskId"]
    assert created["TaskArn"] == ARN.format("ota-task", task_id)
    assert created["Description"] == "firmware 2 0 0"
    got = mi.get_ota_task(Identifier=task_id)
    assert {k: got[k] for k in ("TaskId", "Description", "S3Url", "Protocol", "OtaType", "OtaTargetQueryString",
                                "OtaMechanism", "Target", "TaskConfigurationId", "Status", "Tags")} == {
        "TaskId": task_id, "Description": "firmware 2 0 0", "S3Url": document_url, "Protocol": "HTTP",
        "OtaType": "ONE_TIME", "OtaTargetQueryString": f"Brand:{brand}", "OtaMechanism": "PUSH",
        "Target": [ARN.format("managed-thing", first), second], "TaskConfigurationId": configuration,
        "Status": "SCHEDULED", "Tags": {"release": "2.0.0", "team": "fw"},
    }
    assert got["OtaSchedulingConfig"] == scheduling
    assert got["OtaTaskExecutionRetryConfig"] == retry
    assert got["CreatedAt"] == got["LastUpdatedAt"]
    # ... and it is one job of the jobs engine, with the configuration mapped onto the job's
    job = viot.describe_job(jobId=task_id)["job"]
    assert (job["status"], job["targetSelection"]) == ("SCHEDULED", "SNAPSHOT")
    assert job["jobExecutionsRolloutConfig"] == {"maximumPerMinute": 50, "exponentialRate": {
        "baseRatePerMinute": 5, "incrementFactor": 1.5, "rateIncreaseCriteria": {"numberOfNotifiedThings": 10}}}
    assert job["abortConfig"] == {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
                                                    "thresholdPercentage": 20.5, "minNumberOfExecutedThings": 10}]}
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    assert job["jobExecutionsRetryConfig"] == {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2},
                                                                {"failureType": "TIMED_OUT", "numberOfRetries": 1}]}
    assert job["schedulingConfig"] == {
        "startTime": scheduling["StartTime"], "endTime": scheduling["EndTime"], "endBehavior": "STOP_ROLLOUT",
        "maintenanceWindows": [{"startTime": "cron(0 2 * * ? *)", "durationInMinutes": 120}]}
    assert job["targets"][-1] == f"arn:aws:iot:us-east-1:123456789012:thinggroup/ota-task-{task_id}"
    assert viot.get_job_document(jobId=task_id)["document"] == (DOCUMENT % b"ota-docs").decode()


def test_devices_receive_install_and_report(vserver: OtahubServer, mi: Any, device: Any, document_url: str) -> None:
    """Managed-thing devices (thing name = managed thing Id) take the task over the device plane, download the
    image through the presigned URL in the document, install it and report; the task completes."""
    things = managed_things(mi, 3, Model="M100")
    task_id = ota_task(mi, document_url, things)
    outcome = {things[0]: "SUCCEEDED", things[1]: "SUCCEEDED", things[2]: "FAILED"}
    for thing in things:
        queued = device.get_pending_job_executions(thingName=thing)["queuedJobs"]
        assert [job["jobId"] for job in queued] == [task_id]
        execution = start(device, thing)
        assert (execution["jobId"], execution["status"]) == (task_id, "IN_PROGRESS")
        url = json.loads(execution["jobDocument"])["files"][0]["url"]
        assert url.startswith(vserver.endpoint)
        with urllib.request.urlopen(url) as response:
            image = response.read()
        installed = hashlib.sha256(image).hexdigest() == hashlib.sha256(FIRMWARE).hexdigest()
        assert installed
        assert status_of(mi, task_id) == "IN_PROGRESS"
        device.update_job_execution(thingName=thing, jobId=task_id, status=outcome[thing],
                                    statusDetails={"installed": "2.0.0" if outcome[thing] == "SUCCEEDED" else "none"})
    assert status_of(mi, task_id) == "COMPLETED"
    summaries = task_executions(mi, task_id)
    assert {thing: s["Status"] for thing, s in summaries.items()} == outcome
    assert all(s["StartedAt"] <= s["LastUpdatedAt"] and s["ExecutionNumber"] == 1 for s in summaries.values())
    counts = details(mi, task_id)
    assert (counts["numberOfSucceededThings"], counts["NumberOfFailedThings"]) == (2, 1)
    assert "processingTargets" not in counts  # the rollout is over
    assert device.get_pending_job_executions(thingName=things[0])["queuedJobs"] == []


def test_missing_document_is_refused_naming_s3url(mi: Any, document_url: str) -> None:
    thing = managed_thing(mi)
    for url in ("s3://no-such-bucket-here/job.json", "s3://ota-docs/missing.json", "ftp://ota-docs/job.json"):
        with pytest.raises(ClientError) as excinfo:
            mi.create_ota_task(S3Url=url, OtaType="ONE_TIME", Target=[thing])
        assert error_of(excinfo) == ("ValidationException", 400)
        assert "S3Url" in excinfo.value.response["Error"]["Message"]


def test_missing_targets_and_configurations_are_not_found(mi: Any, document_url: str) -> None:
    for fields in ({"Target": ["0123456789abcdef"]}, {"Target": [ARN.format("managed-thing", "nobody")]},
                   {"Target": [managed_thing(mi)], "TaskConfigurationId": "nosuchconfiguration"}):
        with pytest.raises(ClientError) as excinfo:
            mi.create_ota_task(S3Url=document_url, OtaType="ONE_TIME", **fields)
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
        assert excinfo.value.response["ResourceType"] in ("Managed thing", "OTA task configuration")


def test_client_token_replays_and_conflicts(mi: Any, document_url: str, unique: str) -> None:
    thing = managed_thing(mi)
    token = f"tok-{unique}"
    first = mi.create_ota_task(S3Url=document_url, OtaType="ONE_TIME", Target=[thing], ClientToken=token,
                               Tags={"a": "1", "b": "2"})
    again = mi.create_ota_task(S3Url=document_url, OtaType="ONE_TIME", Target=[thing], ClientToken=token,
                               Tags={"b": "2", "a": "1"})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert again["TaskId"] == first["TaskId"]
    listed = [t["TaskId"] for page in mi.get_paginator("list_ota_tasks").paginate() for t in page["Tasks"]]
    assert listed.count(first["TaskId"]) == 1
    assert statuses(mi, first["TaskId"]) == {"QUEUED": 1}  # one job, one execution
    with pytest.raises(ClientError) as excinfo:
        mi.create_ota_task(S3Url=document_url, OtaType="ONE_TIME", Target=[thing], ClientToken=token,
                           Description="other parameters")
    assert error_of(excinfo) == ("ConflictException", 409)
    assert "ClientToken" in excinfo.value.response["Error"]["Message"]


# --- scheduling ------------------------------------------------------------------------------------


def test_scheduled_start(vserver: OtahubServer, mi: Any, document_url: str) -> None:
    things = managed_things(mi, 2)
    begin = server_now(vserver) + timedelta(hours=2)
    task_id = ota_task(mi, document_url, things, OtaSchedulingConfig={"StartTime": schedule_time(begin)})
    assert status_of(mi, task_id) == "SCHEDULED"
    assert task_executions(mi, task_id) == {}
    vserver.advance_clock(minutes(119))
    assert status_of(mi, task_id) == "SCHEDULED"
    vserver.advance_clock(minutes(2))
    assert status_of(mi, task_id) == "IN_PROGRESS"
    assert statuses(mi, task_id) == {"QUEUED": 2}


def test_maintenance_windows(vserver: OtahubServer, mi: Any, document_url: str) -> None:
    things = managed_things(mi, 6)
    configuration = push_config(mi, RolloutConfig={"MaximumPerMinute": 2})
    opens = (server_now(vserver) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    window = {"StartTime": f"cron(0 {opens.hour} * * ? *)", "DurationInMinutes": 2}
    task_id = ota_task(mi, document_url, things, TaskConfigurationId=configuration,
                       OtaSchedulingConfig={"MaintenanceWindows": [window]})
    assert len(task_executions(mi, task_id)) == 0  # outside the window
    vserver.advance_clock((opens - server_now(vserver)).total_seconds() - 60)
    assert len(task_executions(mi, task_id)) == 0
    vserver.advance_clock(60)  # the window opens
    assert len(task_executions(mi, task_id)) == 2
    vserver.advance_clock(minutes(1.5))
    assert len(task_executions(mi, task_id)) == 4
    vserver.advance_clock(minutes(10))  # closed after 2 minutes: nothing more until the next day's window
    assert len(task_executions(mi, task_id)) == 4
    vserver.advance_clock(minutes(24 * 60 - 11.5))
    assert len(task_executions(mi, task_id)) == 6


@pytest.mark.parametrize(("behavior", "expected_status", "expected"), [
    ("STOP_ROLLOUT", "IN_PROGRESS", {"QUEUED": 1, "IN_PROGRESS": 1}),
    ("CANCEL", "CANCELED", {"CANCELED": 1, "IN_PROGRESS": 1}),
    ("FORCE_CANCEL", "CANCELED", {"CANCELED": 2}),
])
def test_end_behaviors(vserver: OtahubServer, mi: Any, device: Any, document_url: str, behavior: str,
                       expected_status: str, expected: dict[str, int]) -> None:
    things = managed_things(mi, 6)
    configuration = push_config(mi, RolloutConfig={"MaximumPerMinute": 2})
    begin = (server_now(vserver) + timedelta(hours=1)).replace(second=0, microsecond=0)
    task_id = ota_task(mi, document_url, things, TaskConfigurationId=configuration, OtaSchedulingConfig={
        "StartTime": schedule_time(begin), "EndTime": schedule_time(begin + timedelta(minutes=1)),
        "EndBehavior": behavior})
    vserver.advance_clock((begin - server_now(vserver)).total_seconds() + 30)
    assert statuses(mi, task_id) == {"QUEUED": 2}  # the first rollout minute
    working, waiting = task_executions(mi, task_id)
    assert start(device, working)["status"] == "IN_PROGRESS"
    vserver.advance_clock(31)  # past the end time: the other four are never notified
    assert status_of(mi, task_id) == expected_status
    assert statuses(mi, task_id) == expected
    vserver.advance_clock(minutes(5))
    assert statuses(mi, task_id) == expected
    if behavior == "STOP_ROLLOUT":  # the task finishes with the things it reached
        succeed(device, waiting, task_id)
        report(device, working, task_id, "SUCCEEDED")
        assert status_of(mi, task_id) == "COMPLETED"


def test_end_behavior_without_end_time_does_not_apply(vserver: OtahubServer, mi: Any, document_url: str) -> None:
    """The seed's form: EndBehavior with maintenance windows and no EndTime (the model: it then does not apply)."""
    thing = managed_thing(mi)
    scheduling = {"EndBehavior": "CANCEL", "MaintenanceWindows": [{"DurationInMinutes": 60,
                                                                   "StartTime": "cron(0 0 * * ? *)"}]}
    task_id = ota_task(mi, document_url, [thing], OtaSchedulingConfig=scheduling)
    assert mi.get_ota_task(Identifier=task_id)["OtaSchedulingConfig"] == scheduling
    vserver.advance_clock(minutes(24 * 60))  # a window has opened: the thing is notified, nothing is canceled
    assert statuses(mi, task_id) == {"QUEUED": 1}
    assert status_of(mi, task_id) == "IN_PROGRESS"


# --- retries, abort, timeout, rollout rates ----------------------------------------------------------


@pytest.mark.parametrize(("kind", "retried"), [
    ("FAILED", {"failer"}), ("TIMED_OUT", {"sleeper"}), ("ALL", {"failer", "sleeper"}),
])
def test_retries_per_failure_type(vserver: OtahubServer, mi: Any, device: Any, document_url: str, kind: str,
                                  retried: set[str]) -> None:
    names = ("failer", "sleeper", "rejecter")
    things = dict(zip(names, managed_things(mi, 3), strict=True))
    configuration = push_config(mi, TimeoutConfig={"InProgressTimeoutInMinutes": 5})
    task_id = ota_task(mi, document_url, list(things.values()), TaskConfigurationId=configuration,
                       OtaTaskExecutionRetryConfig={"RetryConfigCriteria": [{"FailureType": kind,
                                                                             "MinNumberOfRetries": 1}]})
    start(device, things["failer"])
    report(device, things["failer"], task_id, "FAILED")
    start(device, things["sleeper"])
    report(device, things["rejecter"], task_id, "REJECTED")  # never retried, whatever the criteria
    vserver.advance_clock(minutes(5))  # the sleeper times out
    first = {"failer": "FAILED", "sleeper": "TIMED_OUT", "rejecter": "REJECTED"}
    summaries = task_executions(mi, task_id)
    for name, thing in things.items():
        summary = summaries[thing]
        again = name in retried
        assert (summary["Status"], summary["RetryAttempt"], summary["ExecutionNumber"]) == (
            ("QUEUED", 1, 2) if again else (first[name], 0, 1)), name
    assert status_of(mi, task_id) == ("IN_PROGRESS" if retried else "COMPLETED")
    for name in retried:
        start(device, things[name])
        report(device, things[name], task_id, "FAILED")  # the one retry is used up
    summaries = task_executions(mi, task_id)
    assert all(summaries[things[name]]["Status"] == "FAILED" for name in retried)
    assert status_of(mi, task_id) == "COMPLETED"


def test_abort(mi: Any, device: Any, document_url: str) -> None:
    things = managed_things(mi, 6)
    configuration = push_config(mi, AbortConfig={"AbortConfigCriteriaList": [
        {"Action": "CANCEL", "FailureType": "FAILED", "MinNumberOfExecutedThings": 2, "ThresholdPercentage": 50}]})
    task_id = ota_task(mi, document_url, things, TaskConfigurationId=configuration)
    start(device, things[0])
    report(device, things[0], task_id, "FAILED")
    assert status_of(mi, task_id) == "IN_PROGRESS"  # one executed: below the minimum
    succeed(device, things[1], task_id)
    start(device, things[2])  # stays IN_PROGRESS through the abort
    start(device, things[3])
    report(device, things[3], task_id, "FAILED")  # 2 of 3 failed: 66%
    assert status_of(mi, task_id) == "CANCELED"
    assert statuses(mi, task_id) == {"FAILED": 2, "SUCCEEDED": 1, "IN_PROGRESS": 1, "CANCELED": 2}
    report(device, things[2], task_id, "SUCCEEDED")  # what was in progress may still finish
    assert details(mi, task_id)["numberOfSucceededThings"] == 2


def test_in_progress_timeout(vserver: OtahubServer, mi: Any, device: Any, document_url: str) -> None:
    things = managed_things(mi, 2)
    configuration = push_config(mi, TimeoutConfig={"InProgressTimeoutInMinutes": 10})
    task_id = ota_task(mi, document_url, things, TaskConfigurationId=configuration)
    for thing in things:
        start(device, thing)
    vserver.advance_clock(minutes(9))
    assert statuses(mi, task_id) == {"IN_PROGRESS": 2}
    vserver.advance_clock(minutes(1))
    assert statuses(mi, task_id) == {"TIMED_OUT": 2}
    assert status_of(mi, task_id) == "COMPLETED"
    assert details(mi, task_id)["numberOfTimedOutThings"] == 2


def test_rollout_rate_and_exponential_ramp(vserver: OtahubServer, mi: Any, document_url: str) -> None:
    capped = ota_task(mi, document_url, managed_things(mi, 7),
                      TaskConfigurationId=push_config(mi, RolloutConfig={"MaximumPerMinute": 3}))
    ramp = ota_task(mi, document_url, managed_things(mi, 20), TaskConfigurationId=push_config(
        mi, RolloutConfig={"ExponentialRolloutRate": {"BaseRatePerMinute": 2, "IncrementFactor": 2.0,
                                                      "RateIncreaseCriteria": {"numberOfNotifiedThings": 4}}}))
    seen = [(len(task_executions(mi, capped)), len(task_executions(mi, ramp)))]
    for _ in range(4):
        vserver.advance_clock(60)
        seen.append((len(task_executions(mi, capped)), len(task_executions(mi, ramp))))
    assert seen == [(3, 2), (6, 4), (7, 8), (7, 16), (7, 20)]


# --- targets by query ------------------------------------------------------------------------------


def test_continuous_task_picks_up_managed_things_that_match_later(mi: Any, viot: Any, device: Any,
                                                                  document_url: str, unique: str) -> None:
    brand = f"acme{unique}"
    match = managed_thing(mi, Brand=brand, MetaData={"region": "eu"})
    elsewhere = managed_thing(mi, Brand=brand, MetaData={"region": "us"})
    managed_thing(mi, Brand="other", MetaData={"region": "eu"})
    task_id = ota_task(mi, document_url, None, OtaType="CONTINUOUS",
                       OtaTargetQueryString=f"Brand:{brand} AND attributes.region:eu")
    assert set(task_executions(mi, task_id)) == {match}
    later = managed_thing(mi, Brand=brand, MetaData={"region": "eu"})  # created later, matching
    assert set(task_executions(mi, task_id)) == {match, later}
    mi.update_managed_thing(Identifier=elsewhere, MetaData={"region": "eu"})  # now it matches
    assert task_executions(mi, task_id)[elsewhere]["Status"] == "QUEUED"
    mi.update_managed_thing(Identifier=later, MetaData={"region": "us"})  # left before it started
    assert task_executions(mi, task_id)[later]["Status"] == "REMOVED"
    viot.create_thing(thingName=f"plain-{unique}", attributePayload={"attributes": {"region": "eu"}})
    assert f"plain-{unique}" not in task_executions(mi, task_id)  # only managed things are targets
    for thing in (match, elsewhere):
        succeed(device, thing, task_id)
    assert status_of(mi, task_id) == "IN_PROGRESS"  # continuous: it keeps following the query
    assert details(mi, task_id)["processingTargets"] == [
        f"arn:aws:iot:us-east-1:123456789012:thinggroup/ota-task-{task_id}"]
    again = managed_thing(mi, Brand=brand, MetaData={"region": "eu"}, Name="late comer")
    assert start(device, again)["jobId"] == task_id


def test_one_time_query_is_a_snapshot(mi: Any, device: Any, document_url: str, unique: str) -> None:
    model = f"M{unique}"
    first = managed_thing(mi, Model=model)
    task_id = ota_task(mi, document_url, None, OtaTargetQueryString=f"Model:{model[:-1]}* OR Id:{first}")
    managed_thing(mi, Model=model)
    assert set(task_executions(mi, task_id)) == {first}
    succeed(device, first, task_id)
    assert status_of(mi, task_id) == "COMPLETED"


def test_target_query_errors_name_the_member(mi: Any, document_url: str) -> None:
    for query in ("Colour:red", "Brand:(acme", "NOT"):
        with pytest.raises(ClientError) as excinfo:
            mi.create_ota_task(S3Url=document_url, OtaType="CONTINUOUS", OtaTargetQueryString=query)
        assert error_of(excinfo) == ("ValidationException", 400)
        assert "OtaTargetQueryString" in excinfo.value.response["Error"]["Message"]
