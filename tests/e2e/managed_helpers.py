"""Shared set-up for the managed-integrations tests: a virtual-clock otahub (jobs_helpers.vserver), managed
things, job documents in otahub's S3, and the devices' side over iot-jobs-data (thing name = managed thing Id)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.e2e.jobs_helpers import device, viot, vserver
from tests.e2e.test_s3 import s3_client
from tests.harness import OtahubServer

__all__ = ["device", "viot", "vserver"]  # fixtures

DOCUMENT = b'{"operation": "ota", "files": [{"url": "${aws:iot:s3-presigned-url:s3://%s/fw.bin}"}]}'
FIRMWARE = b"managed firmware 2.0.0 " * 64


@pytest.fixture(scope="module")
def mi(vserver: OtahubServer) -> Any:
    return vserver.client("iot-managed-integrations")


@pytest.fixture(scope="module")
def raw_mi(vserver: OtahubServer) -> Any:
    """No client-side validation: the server's own checks answer."""
    return vserver.client("iot-managed-integrations", validate=False)


@pytest.fixture(scope="module")
def document_url(vserver: OtahubServer) -> str:
    """s3:// URL of a job document whose placeholder names a firmware image in the same bucket."""
    s3 = s3_client(vserver)
    s3.create_bucket(Bucket="ota-docs")
    s3.put_object(Bucket="ota-docs", Key="fw.bin", Body=FIRMWARE)
    s3.put_object(Bucket="ota-docs", Key="job.json", Body=DOCUMENT % b"ota-docs")
    return "s3://ota-docs/job.json"


def managed_thing(mi: Any, **fields: Any) -> str:
    """A managed thing (DEVICE, pre-onboarded); returns its Id."""
    created = mi.create_managed_thing(Role=fields.pop("Role", "DEVICE"), AuthenticationMaterial="qr-code-text",
                                      AuthenticationMaterialType="PRE_ONBOARDED_CLOUD", **fields)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["Id"])


def managed_things(mi: Any, n: int, **fields: Any) -> list[str]:
    return [managed_thing(mi, **fields) for _ in range(n)]


def push_config(mi: Any, **push: Any) -> str:
    created = mi.create_ota_task_configuration(Name="test configuration", PushConfig=push)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["TaskConfigurationId"])


def ota_task(mi: Any, url: str, targets: list[str] | None = None, **fields: Any) -> str:
    created = mi.create_ota_task(S3Url=url, OtaType=fields.pop("OtaType", "ONE_TIME"), **(
        {"Target": targets} if targets is not None else {}), **fields)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["TaskId"])


def task_executions(mi: Any, task_id: str) -> dict[str, dict[str, Any]]:
    """Each managed thing's latest execution summary, by managed thing Id (every page)."""
    found: dict[str, dict[str, Any]] = {}
    for page in mi.get_paginator("list_ota_task_executions").paginate(Identifier=task_id):
        found.update({e["ManagedThingId"]: e["TaskExecutionSummary"] for e in page["ExecutionSummaries"]})
    return found


def statuses(mi: Any, task_id: str) -> Counter[str]:
    return Counter(e["Status"] for e in task_executions(mi, task_id).values())


def status_of(mi: Any, task_id: str) -> str:
    return str(mi.get_ota_task(Identifier=task_id)["Status"])


def details(mi: Any, task_id: str) -> dict[str, Any]:
    return dict(mi.get_ota_task(Identifier=task_id)["TaskProcessingDetails"])


def start(device: Any, thing: str) -> dict[str, Any]:
    """The device asks for its next job (start-next): the execution, with its document."""
    return dict(device.start_next_pending_job_execution(thingName=thing)["execution"])


def report(device: Any, thing: str, task_id: str, status: str) -> None:
    device.update_job_execution(thingName=thing, jobId=task_id, status=status)
