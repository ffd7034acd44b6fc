"""The rollout engine through boto3 on a virtual clock: every setting acts, minute by minute, no sleeps."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import (
    ARN,
    DOC,
    device,
    fleet,
    minutes,
    process,
    schedule_time,
    server_now,
    status_counts,
    viot,
    vserver,
)
from tests.e2e.test_s3 import s3_client
from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

__all__ = ["device", "viot", "vserver"]  # fixtures


def notified(iot: Any, job_id: str) -> int:
    return sum(status_counts(iot, job_id).values())


def test_maximum_per_minute_minute_by_minute(vserver: OtahubServer, viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"rate-{unique}", 10)
    job_id = f"rate-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, jobExecutionsRolloutConfig={"maximumPerMinute": 3})
    seen = [notified(viot, job_id)]
    vserver.advance_clock(30)
    seen.append(notified(viot, job_id))  # still the first minute
    for _ in range(4):
        vserver.advance_clock(30)
        seen.append(notified(viot, job_id))
        vserver.advance_clock(30)
    assert seen == [3, 3, 6, 9, 10, 10]
    assert process(viot, job_id)["numberOfQueuedThings"] == 10


def test_exponential_ramp(vserver: OtahubServer, viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"exp-{unique}", 20)
    job_id = f"exp-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, jobExecutionsRolloutConfig={"exponentialRate": {
        "baseRatePerMinute": 2, "incrementFactor": 2.0, "rateIncreaseCriteria": {"numberOfNotifiedThings": 4}}})
    seen = [notified(viot, job_id)]
    for _ in range(4):
        vserver.advance_clock(60)
        seen.append(notified(viot, job_id))
    # rate 2 until 4 are notified, then 4 until 8, then 8: 2, 4, 8, 16, 20
    assert seen == [2, 4, 8, 16, 20]


def test_exponential_ramp_on_succeeded_things(vserver: OtahubServer, viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"exs-{unique}", 10)
    job_id = f"exs-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, jobExecutionsRolloutConfig={"exponentialRate": {
        "baseRatePerMinute": 1, "incrementFactor": 3.0, "rateIncreaseCriteria": {"numberOfSucceededThings": 1}}})
    vserver.advance_clock(60)
    assert notified(viot, job_id) == 2  # nobody succeeded yet: one a minute
    succeed(device, names[0], job_id)  # rate 3 a minute: 2 more in this minute
    assert notified(viot, job_id) == 4
    succeed(device, names[1], job_id)  # rate 9 a minute: 6 more in this minute
    assert notified(viot, job_id) == 10


def succeed(device: Any, thing: str, job_id: str) -> None:
    device.start_next_pending_job_execution(thingName=thing)
    device.update_job_execution(thingName=thing, jobId=job_id, status="SUCCEEDED")


def test_abort_at_the_threshold(viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"ab-{unique}", 6)
    job_id = f"ab-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, abortConfig={"criteriaList": [
        {"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 50, "minNumberOfExecutedThings": 2}]})
    device.start_next_pending_job_execution(thingName=names[0])
    device.update_job_execution(thingName=names[0], jobId=job_id, status="FAILED")
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "IN_PROGRESS"  # 1 executed: below the minimum
    device.start_next_pending_job_execution(thingName=names[1])
    device.update_job_execution(thingName=names[1], jobId=job_id, status="SUCCEEDED")
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "IN_PROGRESS"
    device.start_next_pending_job_execution(thingName=names[2])  # stays IN_PROGRESS through the abort
    device.start_next_pending_job_execution(thingName=names[3])
    device.update_job_execution(thingName=names[3], jobId=job_id, status="FAILED")  # 2 of 3 failed: 66%
    job = viot.describe_job(jobId=job_id)["job"]
    assert (job["status"], job["reasonCode"]) == ("CANCELED", "ABORTED")
    assert "FAILED" in job["comment"]
    assert status_counts(viot, job_id) == {"FAILED": 2, "SUCCEEDED": 1, "IN_PROGRESS": 1, "CANCELED": 2}
    device.update_job_execution(thingName=names[2], jobId=job_id, status="SUCCEEDED")  # it may still finish


def test_in_progress_timeout_and_step_timeout(vserver: OtahubServer, viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"to-{unique}", 2)
    job_id = f"to-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, timeoutConfig={"inProgressTimeoutInMinutes": 10})
    device.start_next_pending_job_execution(thingName=names[0])
    device.start_next_pending_job_execution(thingName=names[1], stepTimeoutInMinutes=2)
    described = viot.describe_job_execution(jobId=job_id, thingName=names[0])["execution"]
    assert described["approximateSecondsBeforeTimedOut"] == 600
    vserver.advance_clock(minutes(2))
    assert viot.describe_job_execution(jobId=job_id, thingName=names[1])["execution"]["status"] == "TIMED_OUT"
    assert viot.describe_job_execution(jobId=job_id, thingName=names[0])["execution"]["status"] == "IN_PROGRESS"
    vserver.advance_clock(minutes(8))
    assert status_counts(viot, job_id) == {"TIMED_OUT": 2}
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"


def test_retry_after_failure_and_timeout(vserver: OtahubServer, viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"rt-{unique}", 1)
    job_id = f"rt-{unique}"
    thing = names[0]
    viot.create_job(jobId=job_id, targets=[group], document=DOC, timeoutConfig={"inProgressTimeoutInMinutes": 5},
                    jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1},
                                                               {"failureType": "TIMED_OUT", "numberOfRetries": 1}]})
    device.start_next_pending_job_execution(thingName=thing)
    device.update_job_execution(thingName=thing, jobId=job_id, status="FAILED")
    retry = viot.describe_job_execution(jobId=job_id, thingName=thing)["execution"]
    assert (retry["status"], retry["executionNumber"]) == ("QUEUED", 2)
    summary = viot.list_job_executions_for_thing(thingName=thing)["executionSummaries"][0]["jobExecutionSummary"]
    assert summary["retryAttempt"] == 1
    first = viot.describe_job_execution(jobId=job_id, thingName=thing, executionNumber=1)["execution"]
    assert first["status"] == "FAILED"
    device.start_next_pending_job_execution(thingName=thing)
    vserver.advance_clock(minutes(5))
    third = viot.describe_job_execution(jobId=job_id, thingName=thing)["execution"]
    assert (third["status"], third["executionNumber"]) == ("QUEUED", 3)  # the TIMED_OUT retry
    device.start_next_pending_job_execution(thingName=thing)
    device.update_job_execution(thingName=thing, jobId=job_id, status="FAILED")  # FAILED retries used up
    final = viot.describe_job_execution(jobId=job_id, thingName=thing)["execution"]
    assert (final["status"], final["executionNumber"]) == ("FAILED", 3)
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"


def test_scheduled_start(vserver: OtahubServer, viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"sch-{unique}", 2)
    job_id = f"sch-{unique}"
    start = server_now(vserver) + timedelta(hours=2)
    viot.create_job(jobId=job_id, targets=[group], document=DOC, schedulingConfig={"startTime": schedule_time(start)})
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "SCHEDULED"
    assert notified(viot, job_id) == 0
    assert [j["jobId"] for j in viot.list_jobs(status="SCHEDULED", thingGroupName=f"sch-{unique}-group")["jobs"]] \
        == [job_id]
    vserver.advance_clock(minutes(119))
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "SCHEDULED"
    vserver.advance_clock(minutes(2))
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "IN_PROGRESS"
    assert notified(viot, job_id) == 2


def test_maintenance_window_opens_and_closes(vserver: OtahubServer, viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"mw-{unique}", 10)
    job_id = f"mw-{unique}"
    opens = (server_now(vserver) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    window = {"startTime": f"cron(0 {opens.hour} * * ? *)", "durationInMinutes": 3}
    viot.create_job(jobId=job_id, targets=[group], document=DOC, jobExecutionsRolloutConfig={"maximumPerMinute": 2},
                    schedulingConfig={"maintenanceWindows": [window]})
    assert notified(viot, job_id) == 0  # outside the window
    vserver.advance_clock((opens - server_now(vserver)).total_seconds() - 60)
    assert notified(viot, job_id) == 0
    vserver.advance_clock(60)  # the window opens
    assert notified(viot, job_id) == 2
    vserver.advance_clock(minutes(2.5))
    assert notified(viot, job_id) == 6
    vserver.advance_clock(minutes(10))  # closed after 3 minutes: nothing more until the next day
    assert notified(viot, job_id) == 6
    vserver.advance_clock(minutes(24 * 60 - 12))  # the next day's window
    assert notified(viot, job_id) == 8


@pytest.mark.parametrize(("behavior", "expected_status", "expected_counts"), [
    ("STOP_ROLLOUT", "IN_PROGRESS", {"QUEUED": 1, "IN_PROGRESS": 1}),
    ("CANCEL", "CANCELED", {"CANCELED": 1, "IN_PROGRESS": 1}),
    ("FORCE_CANCEL", "CANCELED", {"CANCELED": 2}),
])
def test_end_behaviors(vserver: OtahubServer, viot: Any, device: Any, unique: str, behavior: str,
                       expected_status: str, expected_counts: dict[str, int]) -> None:
    group, names = fleet(viot, f"end-{unique}", 6)
    job_id = f"end-{unique}"
    start = (server_now(vserver) + timedelta(hours=1)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1)
    viot.create_job(jobId=job_id, targets=[group], document=DOC, jobExecutionsRolloutConfig={"maximumPerMinute": 2},
                    schedulingConfig={"startTime": schedule_time(start), "endTime": schedule_time(end),
                                      "endBehavior": behavior})
    vserver.advance_clock((start - server_now(vserver)).total_seconds() + 30)
    assert status_counts(viot, job_id) == {"QUEUED": 2}  # the first rollout minute
    assert device.start_next_pending_job_execution(thingName=names[0])["execution"]["status"] == "IN_PROGRESS"
    vserver.advance_clock(31)  # past the end time: the rest are never notified
    job = viot.describe_job(jobId=job_id)["job"]
    assert job["status"] == expected_status
    assert status_counts(viot, job_id) == expected_counts
    vserver.advance_clock(minutes(5))
    assert status_counts(viot, job_id) == expected_counts
    if behavior == "STOP_ROLLOUT":  # the job finishes with the things it reached
        succeed(device, names[1], job_id)
        device.update_job_execution(thingName=names[0], jobId=job_id, status="SUCCEEDED")
        assert viot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"


def test_end_time_before_start_is_refused(vserver: OtahubServer, viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"bad-{unique}", 1)
    now = server_now(vserver)
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"bad-{unique}", targets=[group], document=DOC, schedulingConfig={
            "startTime": schedule_time(now + timedelta(hours=2)), "endTime": schedule_time(now + timedelta(hours=1))})
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "endTime" in excinfo.value.response["Error"]["Message"]


def test_continuous_job_picks_up_a_thing_added_later(viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"cont-{unique}", 2)
    job_id = f"cont-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, targetSelection="CONTINUOUS")
    viot.create_thing(thingName=f"cont-{unique}-late")
    viot.add_thing_to_thing_group(thingGroupName=f"cont-{unique}-group", thingName=f"cont-{unique}-late")
    assert notified(viot, job_id) == 3
    viot.create_thing_group(thingGroupName=f"cont-{unique}-sub", parentGroupName=f"cont-{unique}-group")
    viot.create_thing(thingName=f"cont-{unique}-sub1")
    viot.update_thing_groups_for_thing(thingName=f"cont-{unique}-sub1", thingGroupsToAdd=[f"cont-{unique}-sub"])
    assert notified(viot, job_id) == 4  # a child group's new member too
    snapshot_group, _ = fleet(viot, f"snap-{unique}", 1)
    viot.create_job(jobId=f"snap-{unique}", targets=[snapshot_group], document=DOC)
    viot.create_thing(thingName=f"snap-{unique}-late")
    viot.add_thing_to_thing_group(thingGroupName=f"snap-{unique}-group", thingName=f"snap-{unique}-late")
    assert notified(viot, f"snap-{unique}") == 1  # a snapshot job does not


def test_associate_targets_with_a_continuous_job(viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"as-{unique}", 1)
    other, _ = fleet(viot, f"as2-{unique}", 2)
    viot.create_job(jobId=f"as-{unique}", targets=[group], document=DOC, targetSelection="CONTINUOUS")
    viot.associate_targets_with_job(jobId=f"as-{unique}", targets=[other], comment="more")
    assert notified(viot, f"as-{unique}") == 3
    assert viot.describe_job(jobId=f"as-{unique}")["job"]["targets"] == [group, other]
    viot.create_job(jobId=f"as-snap-{unique}", targets=[group], document=DOC)
    with pytest.raises(ClientError) as excinfo:
        viot.associate_targets_with_job(jobId=f"as-snap-{unique}", targets=[other])
    assert error_of(excinfo) == ("InvalidRequestException", 400)


def test_presigned_url_substituted_for_devices_and_expiring(vserver: OtahubServer, viot: Any, device: Any,
                                                           unique: str) -> None:
    s3 = s3_client(vserver)
    bucket = f"fw-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="fw.bin", Body=b"firmware image bytes")
    group, names = fleet(viot, f"ps-{unique}", 1)
    job_id = f"ps-{unique}"
    placeholder = f"${{aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/{bucket}/fw.bin}}"
    viot.create_job(jobId=job_id, targets=[group], document=f'{{"url": "{placeholder}"}}',
                    presignedUrlConfig={"roleArn": "arn:aws:iam::123456789012:role/ota", "expiresInSec": 120})
    assert placeholder in viot.get_job_document(jobId=job_id)["document"]  # stored as given
    execution = device.start_next_pending_job_execution(thingName=names[0])["execution"]
    url = execution["jobDocument"].split('"url": "')[1].split('"')[0]
    assert url.startswith(vserver.endpoint) and "X-Amz-Expires=120" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"firmware image bytes"
    with pytest.raises(urllib.error.HTTPError) as altered:
        urllib.request.urlopen(url.replace("fw.bin", "fx.bin"))
    assert altered.value.code == 403
    vserver.advance_clock(121)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(url)
    assert expired.value.code == 403
    fresh = device.describe_job_execution(thingName=names[0], jobId=job_id)["execution"]["jobDocument"]
    with urllib.request.urlopen(fresh.split('"url": "')[1].split('"')[0]) as response:
        assert response.read() == b"firmware image bytes"  # each delivery signs anew


def test_clock_control_needs_the_servers_credentials(vserver: OtahubServer) -> None:
    from botocore.credentials import Credentials

    from otahub.cli.clock import clock_call

    with pytest.raises(Exception, match="refused"):
        clock_call(vserver.endpoint, 60, Credentials(vserver.access_key_id, "wrong-secret"), "us-east-1")
    request = urllib.request.Request(f"{vserver.endpoint}/_otahub/clock", data=b'{"advanceSeconds": 5}',
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(request)
    assert unsigned.value.code == 403


def test_the_arn_helper_matches_the_server() -> None:
    assert ARN.format("job", "x") == "arn:aws:iot:us-east-1:123456789012:job/x"


def test_continuous_job_removes_a_thing_that_leaves_and_requeues_it_on_return(viot: Any, device: Any,
                                                                              unique: str) -> None:
    group, names = fleet(viot, f"lv-{unique}", 3)
    group_name = f"lv-{unique}-group"
    job_id = f"lv-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC, targetSelection="CONTINUOUS")
    device.start_next_pending_job_execution(thingName=names[0])
    for name in names[:2]:
        viot.remove_thing_from_thing_group(thingGroupName=group_name, thingName=name)
    first = viot.describe_job_execution(jobId=job_id, thingName=names[0])["execution"]
    second = viot.describe_job_execution(jobId=job_id, thingName=names[1])["execution"]
    assert (first["status"], second["status"]) == ("IN_PROGRESS", "REMOVED")  # a started one runs on
    assert process(viot, job_id)["numberOfRemovedThings"] == 1
    viot.add_thing_to_thing_group(thingGroupName=group_name, thingName=names[1])
    back = viot.describe_job_execution(jobId=job_id, thingName=names[1])["execution"]
    assert (back["status"], back["executionNumber"]) == ("QUEUED", 2)
    assert status_counts(viot, job_id) == {"IN_PROGRESS": 1, "QUEUED": 2}


def test_continuous_job_follows_a_dynamic_group_both_ways(viot: Any, unique: str) -> None:
    viot.create_dynamic_thing_group(thingGroupName=f"dyn-{unique}",
                                    queryString=f"attributes.ring:{unique} AND attributes.fw:old")
    for n in range(2):
        viot.create_thing(thingName=f"dyn-{unique}-{n}",
                          attributePayload={"attributes": {"ring": unique, "fw": "old"}})
    job_id = f"dyn-{unique}"
    viot.create_job(jobId=job_id, targets=[ARN.format("thinggroup", f"dyn-{unique}")], document=DOC,
                    targetSelection="CONTINUOUS")
    assert status_counts(viot, job_id) == {"QUEUED": 2}
    viot.create_thing(thingName=f"dyn-{unique}-late", attributePayload={"attributes": {"ring": unique, "fw": "old"}})
    assert status_counts(viot, job_id) == {"QUEUED": 3}
    viot.update_thing(thingName=f"dyn-{unique}-0", attributePayload={"attributes": {"fw": "new"}, "merge": True})
    assert status_counts(viot, job_id) == {"QUEUED": 2, "REMOVED": 1}
