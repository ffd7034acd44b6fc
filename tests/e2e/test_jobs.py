"""The jobs control plane through boto3: jobs, executions, templates, validation, the device face over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import ARN, DOC, device, fleet, process, status_counts, viot, vserver
from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

__all__ = ["device", "viot", "vserver"]  # fixtures


def thing_arn(name: str) -> str:
    return ARN.format("thing", name)


def test_create_describe_list_and_document(viot: Any, unique: str) -> None:
    group, names = fleet(viot, f"cj-{unique}", 3)
    created = viot.create_job(jobId=f"job-{unique}", targets=[group], document=DOC, description="first rollout",
                              tags=[{"Key": "team", "Value": "fw"}])
    assert (created["jobId"], created["jobArn"]) == (f"job-{unique}", ARN.format("job", f"job-{unique}"))
    assert created["description"] == "first rollout"
    job = viot.describe_job(jobId=f"job-{unique}")["job"]
    assert (job["status"], job["targetSelection"], job["targets"]) == ("IN_PROGRESS", "SNAPSHOT", [group])
    assert job["jobProcessDetails"]["numberOfQueuedThings"] == 3
    assert job["createdAt"] == job["lastUpdatedAt"]
    assert viot.get_job_document(jobId=f"job-{unique}")["document"] == DOC
    listed = {j["jobId"]: j for j in viot.list_jobs(thingGroupName=f"cj-{unique}-group")["jobs"]}
    assert list(listed) == [f"job-{unique}"]
    assert listed[f"job-{unique}"]["status"] == "IN_PROGRESS"
    assert viot.list_jobs(status="COMPLETED", thingGroupName=f"cj-{unique}-group")["jobs"] == []
    group_id = viot.describe_thing_group(thingGroupName=f"cj-{unique}-group")["thingGroupId"]
    assert [j["jobId"] for j in viot.list_jobs(thingGroupId=group_id)["jobs"]] == [f"job-{unique}"]
    tags = viot.list_tags_for_resource(resourceArn=created["jobArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "fw"}]
    summaries = viot.list_job_executions_for_job(jobId=f"job-{unique}")["executionSummaries"]
    assert sorted(s["thingArn"] for s in summaries) == sorted(thing_arn(n) for n in names)
    assert {s["jobExecutionSummary"]["status"] for s in summaries} == {"QUEUED"}
    for_thing = viot.list_job_executions_for_thing(thingName=names[0])["executionSummaries"]
    assert [s["jobId"] for s in for_thing] == [f"job-{unique}"]
    execution = viot.describe_job_execution(jobId=f"job-{unique}", thingName=names[0])["execution"]
    assert (execution["status"], execution["executionNumber"], execution["versionNumber"]) == ("QUEUED", 1, 1)
    assert execution["thingArn"] == thing_arn(names[0])


def test_targets_things_and_nested_groups_once_each(viot: Any, unique: str) -> None:
    parent, names = fleet(viot, f"nest-{unique}", 2)
    viot.create_thing_group(thingGroupName=f"nest-{unique}-child", parentGroupName=f"nest-{unique}-group")
    viot.create_thing(thingName=f"nest-{unique}-kid")
    viot.add_thing_to_thing_group(thingGroupName=f"nest-{unique}-child", thingName=f"nest-{unique}-kid")
    viot.create_job(jobId=f"nest-{unique}", targets=[parent, thing_arn(names[0])], document=DOC)
    assert process(viot, f"nest-{unique}")["numberOfQueuedThings"] == 3


def test_device_completes_a_snapshot_job(viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"dev-{unique}", 2)
    viot.create_job(jobId=f"dev-{unique}", targets=[group], document=DOC)
    for name in names:
        started = device.start_next_pending_job_execution(thingName=name, statusDetails={"step": "download"})
        execution = started["execution"]
        assert (execution["jobId"], execution["status"], execution["versionNumber"]) == (
            f"dev-{unique}", "IN_PROGRESS", 2)
        assert json.loads(execution["jobDocument"]) == json.loads(DOC)
        state = device.update_job_execution(
            thingName=name, jobId=f"dev-{unique}", status="SUCCEEDED", expectedVersion=2,
            statusDetails={"reason": "accepted"}, includeJobExecutionState=True,
        )["executionState"]
        assert state == {"status": "SUCCEEDED", "statusDetails": {"reason": "accepted"}, "versionNumber": 3}
    job = viot.describe_job(jobId=f"dev-{unique}")["job"]
    assert job["status"] == "COMPLETED"
    assert job["jobProcessDetails"]["numberOfSucceededThings"] == 2
    assert "completedAt" in job
    assert device.start_next_pending_job_execution(thingName=names[0]).get("execution") is None


def test_device_state_machine_errors(viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"sm-{unique}", 1)
    job_id = f"sm-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC)
    pending = device.get_pending_job_executions(thingName=names[0])
    assert [j["jobId"] for j in pending["queuedJobs"]] == [job_id] and pending["inProgressJobs"] == []
    device.update_job_execution(thingName=names[0], jobId=job_id, status="IN_PROGRESS")
    with pytest.raises(ClientError) as excinfo:  # IN_PROGRESS -> REJECTED is refused
        device.update_job_execution(thingName=names[0], jobId=job_id, status="REJECTED")
    assert error_of(excinfo) == ("InvalidStateTransitionException", 409)
    with pytest.raises(ClientError) as excinfo:
        device.update_job_execution(thingName=names[0], jobId=job_id, status="SUCCEEDED", expectedVersion=9)
    assert error_of(excinfo) == ("InvalidStateTransitionException", 409)
    with pytest.raises(ClientError) as excinfo:
        device.update_job_execution(thingName=names[0], jobId=job_id, status="CANCELED")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    device.update_job_execution(thingName=names[0], jobId=job_id, status="FAILED")
    with pytest.raises(ClientError) as excinfo:
        device.update_job_execution(thingName=names[0], jobId=job_id, status="SUCCEEDED")
    assert error_of(excinfo) == ("InvalidStateTransitionException", 409)
    with pytest.raises(ClientError) as excinfo:
        device.describe_job_execution(thingName=names[0], jobId=job_id)
    assert error_of(excinfo) == ("TerminalStateException", 410)
    with pytest.raises(ClientError) as excinfo:
        device.get_pending_job_executions(thingName=f"nobody-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_cancel_job_and_force(viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"cx-{unique}", 3)
    job_id = f"cx-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC)
    device.start_next_pending_job_execution(thingName=names[0])
    canceled = viot.cancel_job(jobId=job_id, reasonCode="BAD_BUILD", comment="wrong image")
    assert canceled["jobId"] == job_id
    job = viot.describe_job(jobId=job_id)["job"]
    assert (job["status"], job["reasonCode"], job["comment"], job["forceCanceled"]) == (
        "CANCELED", "BAD_BUILD", "wrong image", False)
    assert status_counts(viot, job_id) == {"CANCELED": 2, "IN_PROGRESS": 1}
    viot.cancel_job(jobId=job_id, force=True)
    assert status_counts(viot, job_id) == {"CANCELED": 3}
    assert viot.describe_job(jobId=job_id)["job"]["forceCanceled"] is True
    forced = viot.describe_job_execution(jobId=job_id, thingName=names[0])["execution"]
    assert forced["forceCanceled"] is True
    with pytest.raises(ClientError) as excinfo:  # a canceled device can no longer update
        device.update_job_execution(thingName=names[0], jobId=job_id, status="SUCCEEDED")
    assert error_of(excinfo) == ("InvalidStateTransitionException", 409)


def test_cancel_and_delete_executions(viot: Any, device: Any, unique: str) -> None:
    group, names = fleet(viot, f"ce-{unique}", 2)
    job_id = f"ce-{unique}"
    viot.create_job(jobId=job_id, targets=[group], document=DOC)
    device.start_next_pending_job_execution(thingName=names[0])
    with pytest.raises(ClientError) as excinfo:
        viot.cancel_job_execution(jobId=job_id, thingName=names[0])
    assert error_of(excinfo) == ("InvalidStateTransitionException", 409)
    with pytest.raises(ClientError) as excinfo:
        viot.cancel_job_execution(jobId=job_id, thingName=names[0], force=True, expectedVersion=1)
    assert error_of(excinfo) == ("VersionConflictException", 409)
    viot.cancel_job_execution(jobId=job_id, thingName=names[0], force=True, expectedVersion=2,
                              statusDetails={"why": "operator"})
    viot.cancel_job_execution(jobId=job_id, thingName=names[1])
    assert status_counts(viot, job_id) == {"CANCELED": 2}
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"
    viot.delete_job_execution(jobId=job_id, thingName=names[1], executionNumber=1)
    with pytest.raises(ClientError) as excinfo:
        viot.describe_job_execution(jobId=job_id, thingName=names[1])
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert process(viot, job_id)["numberOfCanceledThings"] == 1


def test_delete_job_needs_force_while_in_progress(viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"del-{unique}", 1)
    viot.create_job(jobId=f"del-{unique}", targets=[group], document=DOC)
    with pytest.raises(ClientError) as excinfo:
        viot.delete_job(jobId=f"del-{unique}")
    assert error_of(excinfo) == ("InvalidStateTransitionException", 409)
    viot.delete_job(jobId=f"del-{unique}", force=True)
    with pytest.raises(ClientError) as excinfo:
        viot.describe_job(jobId=f"del-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    viot.create_job(jobId=f"del-{unique}", targets=[group], document=DOC)  # the id is free again


def test_update_job(viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"up-{unique}", 1)
    viot.create_job(jobId=f"up-{unique}", targets=[group], document=DOC)
    viot.update_job(jobId=f"up-{unique}", description="now with a timeout",
                    timeoutConfig={"inProgressTimeoutInMinutes": 30},
                    abortConfig={"criteriaList": [{"failureType": "ALL", "action": "CANCEL",
                                                   "thresholdPercentage": 50, "minNumberOfExecutedThings": 10}]})
    job = viot.describe_job(jobId=f"up-{unique}")["job"]
    assert job["description"] == "now with a timeout"
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 30}
    assert job["abortConfig"]["criteriaList"][0]["minNumberOfExecutedThings"] == 10


def test_create_conflicts_and_missing_targets(viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"cf-{unique}", 1)
    viot.create_job(jobId=f"cf-{unique}", targets=[group], document=DOC)
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"cf-{unique}", targets=[group], document=DOC)
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"cf2-{unique}", targets=[thing_arn(f"ghost-{unique}")], document=DOC)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"cf3-{unique}", targets=["arn:aws:s3:::bucket"], document=DOC)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"cf4-{unique}", targets=[group])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as excinfo:
        viot.describe_job(jobId=f"cf2-{unique}")  # nothing half-written
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(("change", "field"), [
    ({"jobId": "bad id!"}, "jobId"),
    ({"jobId": "x" * 65}, "jobId"),
    ({"description": "d" * 2029}, "description"),
    ({"targetSelection": "SOMETIMES"}, "targetSelection"),
    ({"targets": []}, "targets"),
    ({"abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 101,
                                        "minNumberOfExecutedThings": 1}]}}, "thresholdPercentage"),
    ({"jobExecutionsRolloutConfig": {"exponentialRate": {"baseRatePerMinute": 1001, "incrementFactor": 2,
                                                         "rateIncreaseCriteria": {"numberOfNotifiedThings": 1}}}},
     "baseRatePerMinute"),
    ({"jobExecutionsRolloutConfig": {"exponentialRate": {"baseRatePerMinute": 10, "incrementFactor": 1.05,
                                                         "rateIncreaseCriteria": {"numberOfNotifiedThings": 1}}}},
     "incrementFactor"),
    ({"jobExecutionsRolloutConfig": {"exponentialRate": {"baseRatePerMinute": 10, "incrementFactor": 1.55,
                                                         "rateIncreaseCriteria": {"numberOfNotifiedThings": 1}}}},
     "incrementFactor"),
    ({"jobExecutionsRolloutConfig": {"exponentialRate": {"baseRatePerMinute": 10, "incrementFactor": 2,
                                                         "rateIncreaseCriteria": {}}}}, "rateIncreaseCriteria"),
    ({"jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 11}]}},
     "numberOfRetries"),
    ({"timeoutConfig": {"inProgressTimeoutInMinutes": 10081}}, "inProgressTimeoutInMinutes"),
    ({"presignedUrlConfig": {"expiresInSec": 30}}, "expiresInSec"),
    ({"schedulingConfig": {"startTime": "tomorrow"}}, "startTime"),
    ({"schedulingConfig": {"maintenanceWindows": [{"startTime": "cron(61 * * * ? *)", "durationInMinutes": 30}]}},
     "startTime"),
    ({"schedulingConfig": {"maintenanceWindows": [{"startTime": "cron(0 1 * * ? *)", "durationInMinutes": 1431}]}},
     "durationInMinutes"),
    ({"schedulingConfig": {"endBehavior": "STOP"}}, "endBehavior"),
])
def test_validation(vserver: OtahubServer, unique: str, change: dict[str, Any], field: str) -> None:
    iot = vserver.client("iot", validate=False)
    group, _ = fleet(iot, f"val-{unique}", 1)
    request = {"jobId": f"val-{unique}", "targets": [group], "document": DOC, **change}
    with pytest.raises(ClientError) as excinfo:
        iot.create_job(**request)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert field in excinfo.value.response["Error"]["Message"]


def test_job_templates(viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"tp-{unique}", 2)
    template_id = f"tpl-{unique}"
    created = viot.create_job_template(
        jobTemplateId=template_id, description="nightly", document='{"v": "${aws:iot:parameter:version}"}',
        timeoutConfig={"inProgressTimeoutInMinutes": 60},
        jobExecutionsRolloutConfig={"maximumPerMinute": 1},
        maintenanceWindows=[{"startTime": "cron(0 2 * * ? *)", "durationInMinutes": 120}],
    )
    assert created["jobTemplateArn"] == ARN.format("jobtemplate", template_id)
    described = viot.describe_job_template(jobTemplateId=template_id)
    assert described["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    assert described["maintenanceWindows"] == [{"startTime": "cron(0 2 * * ? *)", "durationInMinutes": 120}]
    listed = [t["jobTemplateId"] for t in viot.list_job_templates(maxResults=250)["jobTemplates"]]
    assert template_id in listed
    viot.create_job(jobId=f"fromtpl-{unique}", targets=[group], jobTemplateArn=created["jobTemplateArn"],
                    documentParameters={"version": "2.0"})
    job = viot.describe_job(jobId=f"fromtpl-{unique}")["job"]
    assert job["jobTemplateArn"] == created["jobTemplateArn"]
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    assert job["documentParameters"] == {"version": "2.0"}
    assert json.loads(viot.get_job_document(jobId=f"fromtpl-{unique}")["document"]) == {"v": "2.0"}
    before = viot.get_job_document(jobId=f"fromtpl-{unique}", beforeSubstitution=True)["document"]
    assert before == '{"v": "${aws:iot:parameter:version}"}'
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"noparam-{unique}", targets=[group], jobTemplateArn=created["jobTemplateArn"])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    copied = viot.create_job_template(jobTemplateId=f"copy-{unique}", description="from a job",
                                      jobArn=ARN.format("job", f"fromtpl-{unique}"))
    assert viot.describe_job_template(jobTemplateId=f"copy-{unique}")["document"] == '{"v": "2.0"}'
    assert copied["jobTemplateId"] == f"copy-{unique}"
    with pytest.raises(ClientError) as excinfo:
        viot.create_job_template(jobTemplateId=template_id, description="again", document=DOC)
    assert error_of(excinfo) == ("ConflictException", 409)
    viot.delete_job_template(jobTemplateId=template_id)
    with pytest.raises(ClientError) as excinfo:
        viot.describe_job_template(jobTemplateId=template_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_document_source_from_the_object_store(vserver: OtahubServer, viot: Any, unique: str) -> None:
    from tests.e2e.test_s3 import s3_client

    s3 = s3_client(vserver)
    bucket = f"docs-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="job.json", Body=DOC.encode())
    group, _ = fleet(viot, f"ds-{unique}", 1)
    source = f"https://s3.us-east-1.amazonaws.com/{bucket}/job.json"
    viot.create_job(jobId=f"ds-{unique}", targets=[group], documentSource=source)
    described = viot.describe_job(jobId=f"ds-{unique}")
    assert described["documentSource"] == source
    assert viot.get_job_document(jobId=f"ds-{unique}")["document"] == DOC
    with pytest.raises(ClientError) as excinfo:
        viot.create_job(jobId=f"ds2-{unique}", targets=[group],
                        documentSource=f"https://s3.us-east-1.amazonaws.com/{bucket}/missing.json")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "missing.json" in excinfo.value.response["Error"]["Message"]
