"""OTA task configurations and the rest of an OTA task's life: Get/List/Delete of configurations (refused while a
live task uses one), UpdateOtaTask, DeleteOtaTask (its job and group go too) and the list pages."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.managed_helpers import (
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

__all__ = ["device", "document_url", "mi", "viot", "vserver"]  # fixtures

PUSH = {
    "AbortConfig": {"AbortConfigCriteriaList": [
        {"Action": "CANCEL", "FailureType": "ALL", "MinNumberOfExecutedThings": 5, "ThresholdPercentage": 12.25},
        {"Action": "CANCEL", "FailureType": "TIMED_OUT", "MinNumberOfExecutedThings": 100,
         "ThresholdPercentage": 100.0},
    ]},
    "RolloutConfig": {"MaximumPerMinute": 1000, "ExponentialRolloutRate": {
        "BaseRatePerMinute": 100, "IncrementFactor": 5.0, "RateIncreaseCriteria": {"numberOfSucceededThings": 100}}},
    "TimeoutConfig": {"InProgressTimeoutInMinutes": 10080},
}


def test_task_configuration_lifecycle(mi: Any, unique: str) -> None:
    created = mi.create_ota_task_configuration(Name="nightly rollout", Description="slow and careful",
                                               PushConfig=PUSH, ClientToken=f"cfg-{unique}")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    configuration_id = created["TaskConfigurationId"]
    got = mi.get_ota_task_configuration(Identifier=configuration_id)
    assert (got["TaskConfigurationId"], got["Name"], got["Description"]) == (
        configuration_id, "nightly rollout", "slow and careful")
    assert got["PushConfig"] == PUSH
    assert got["CreatedAt"] is not None
    replay = mi.create_ota_task_configuration(Name="nightly rollout", Description="slow and careful",
                                              PushConfig=PUSH, ClientToken=f"cfg-{unique}")
    assert replay["TaskConfigurationId"] == configuration_id
    with pytest.raises(ClientError) as excinfo:
        mi.create_ota_task_configuration(Name="another name", PushConfig=PUSH, ClientToken=f"cfg-{unique}")
    assert error_of(excinfo) == ("ConflictException", 409)
    minimal = mi.create_ota_task_configuration()["TaskConfigurationId"]  # no member is required
    assert mi.get_ota_task_configuration(Identifier=minimal)["PushConfig"] == {}
    items = [item for page in mi.get_paginator("list_ota_task_configurations").paginate(PaginationConfig={
        "PageSize": 1}) for item in page["Items"]]
    assert {"TaskConfigurationId": configuration_id, "Name": "nightly rollout"}.items() <= next(
        i for i in items if i["TaskConfigurationId"] == configuration_id).items()
    assert len({i["TaskConfigurationId"] for i in items}) == len(items)
    assert mi.delete_ota_task_configuration(Identifier=configuration_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        mi.get_ota_task_configuration(Identifier=configuration_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert excinfo.value.response["ResourceId"] == configuration_id
    with pytest.raises(ClientError) as excinfo:
        mi.delete_ota_task_configuration(Identifier=configuration_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_configuration_in_use_is_not_deleted_while_the_task_lives(mi: Any, device: Any, document_url: str) -> None:
    configuration = push_config(mi, TimeoutConfig={"InProgressTimeoutInMinutes": 30})
    thing = managed_thing(mi)
    task_id = ota_task(mi, document_url, [thing], TaskConfigurationId=configuration)
    with pytest.raises(ClientError) as excinfo:
        mi.delete_ota_task_configuration(Identifier=configuration)
    assert error_of(excinfo) == ("ConflictException", 409)
    assert task_id in excinfo.value.response["Error"]["Message"]
    start(device, thing)
    report(device, thing, task_id, "SUCCEEDED")
    assert status_of(mi, task_id) == "COMPLETED"
    mi.delete_ota_task_configuration(Identifier=configuration)  # the task is over: it may go
    assert mi.get_ota_task(Identifier=task_id)["TaskConfigurationId"] == configuration


def test_update_ota_task(mi: Any, document_url: str) -> None:
    things = managed_things(mi, 4)
    slow, fast = push_config(mi, RolloutConfig={"MaximumPerMinute": 1}), push_config(mi, RolloutConfig={
        "MaximumPerMinute": 10})
    task_id = ota_task(mi, document_url, things, TaskConfigurationId=slow, Description="first")
    assert len(task_executions(mi, task_id)) == 1
    updated = mi.update_ota_task(Identifier=task_id, Description="faster now", TaskConfigurationId=fast)
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert len(task_executions(mi, task_id)) == 4  # the new rate applies at once, in the same minute
    got = mi.get_ota_task(Identifier=task_id)
    assert (got["Description"], got["TaskConfigurationId"]) == ("faster now", fast)
    assert got["LastUpdatedAt"] >= got["CreatedAt"]
    mi.update_ota_task(Identifier=task_id, Description="only the text")
    assert mi.get_ota_task(Identifier=task_id)["TaskConfigurationId"] == fast
    for identifier, fields in ((task_id, {"TaskConfigurationId": "nosuchconfiguration"}),
                               ("nosuchtask", {"Description": "x"})):
        with pytest.raises(ClientError) as excinfo:
            mi.update_ota_task(Identifier=identifier, **fields)
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_delete_ota_task_takes_its_job_and_group(mi: Any, viot: Any, device: Any, document_url: str,
                                                 unique: str) -> None:
    thing = managed_thing(mi, Brand=f"del{unique}")
    task_id = ota_task(mi, document_url, None, OtaType="CONTINUOUS", OtaTargetQueryString=f"Brand:del{unique}")
    assert statuses(mi, task_id) == {"QUEUED": 1}
    assert viot.describe_thing_group(thingGroupName=f"ota-task-{task_id}")["queryString"]
    deleted = mi.delete_ota_task(Identifier=task_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    for call in (lambda: mi.get_ota_task(Identifier=task_id), lambda: mi.delete_ota_task(Identifier=task_id),
                 lambda: mi.list_ota_task_executions(Identifier=task_id)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    for call in (lambda: viot.describe_job(jobId=task_id),
                 lambda: viot.describe_thing_group(thingGroupName=f"ota-task-{task_id}")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert device.get_pending_job_executions(thingName=thing)["queuedJobs"] == []
    listed = [t["TaskId"] for page in mi.get_paginator("list_ota_tasks").paginate() for t in page["Tasks"]]
    assert task_id not in listed


def test_task_whose_job_was_deleted_is_being_deleted(mi: Any, viot: Any, document_url: str) -> None:
    task_id = ota_task(mi, document_url, [managed_thing(mi)])
    viot.delete_job(jobId=task_id, force=True)  # through the iot face of the same job
    got = mi.get_ota_task(Identifier=task_id)
    assert got["Status"] == "DELETION_IN_PROGRESS"
    assert mi.list_ota_task_executions(Identifier=task_id)["ExecutionSummaries"] == []
    mi.delete_ota_task(Identifier=task_id)  # finishes it
    with pytest.raises(ClientError):
        mi.get_ota_task(Identifier=task_id)


def test_list_ota_tasks_and_executions_page(mi: Any, document_url: str) -> None:
    things = managed_things(mi, 3)
    made = [ota_task(mi, document_url, things) for _ in range(3)]
    pages = list(mi.get_paginator("list_ota_tasks").paginate(PaginationConfig={"PageSize": 2}))
    assert all(len(page["Tasks"]) <= 2 for page in pages)
    tasks = {t["TaskId"]: t for page in pages for t in page["Tasks"]}
    assert all(tasks[task_id]["Status"] == "IN_PROGRESS" for task_id in made)
    assert tasks[made[0]]["TaskArn"].endswith(f":ota-task/{made[0]}")
    first = mi.list_ota_task_executions(Identifier=made[0], MaxResults=2)
    assert len(first["ExecutionSummaries"]) == 2 and first["NextToken"]
    rest = mi.list_ota_task_executions(Identifier=made[0], MaxResults=2, NextToken=first["NextToken"])
    assert len(rest["ExecutionSummaries"]) == 1 and "NextToken" not in rest
    seen = {e["ManagedThingId"] for e in first["ExecutionSummaries"] + rest["ExecutionSummaries"]}
    assert seen == set(things)
    with pytest.raises(ClientError) as excinfo:  # a token of one task's list is not one of another's
        mi.list_ota_task_executions(Identifier=made[1], NextToken=first["NextToken"])
    assert error_of(excinfo) == ("ValidationException", 400)
