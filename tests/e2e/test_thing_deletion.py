"""DeleteThing and the rest of the system: a thing with principals is not deleted (as AWS answers), and a
deleted thing leaves the jobs that targeted it: never notified if it was still waiting, REMOVED if QUEUED."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import device, fleet, status_counts, viot, vserver
from tests.harness import OtahubServer

__all__ = ["device", "viot", "vserver"]  # fixtures
DOC = '{"step": "update"}'


def test_a_thing_with_a_principal_is_not_deleted(viot: Any) -> None:
    viot.create_thing(thingName="del-principal")
    cert = viot.create_keys_and_certificate(setAsActive=True)
    viot.attach_thing_principal(thingName="del-principal", principal=cert["certificateArn"])
    with pytest.raises(ClientError) as refused:
        viot.delete_thing(thingName="del-principal")
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidRequestException", 400)
    assert "Thing del-principal is still attached to one or more principals" in error["Error"]["Message"]
    assert viot.describe_thing(thingName="del-principal")["thingName"] == "del-principal"
    viot.detach_thing_principal(thingName="del-principal", principal=cert["certificateArn"])
    viot.delete_thing(thingName="del-principal")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        viot.describe_thing(thingName="del-principal")


def test_deleted_things_leave_their_jobs(vserver: OtahubServer, viot: Any, device: Any) -> None:
    group, names = fleet(viot, "delthings", 3)
    viot.create_job(jobId="del-things", targets=[group], document=DOC,
                    jobExecutionsRolloutConfig={"maximumPerMinute": 2})
    assert status_counts(viot, "del-things") == {"QUEUED": 2}  # the third waits for the next minute
    summaries = viot.list_job_executions_for_job(jobId="del-things")["executionSummaries"]
    notified = sorted(e["thingArn"].rsplit("/", 1)[1] for e in summaries)
    first, queued = notified
    (waiting,) = set(names) - set(notified)
    viot.delete_thing(thingName=queued)  # QUEUED: REMOVED
    viot.delete_thing(thingName=waiting)  # not yet notified: it never will be
    vserver.advance_clock(120)
    assert status_counts(viot, "del-things") == {"QUEUED": 1, "REMOVED": 1}
    device.start_next_pending_job_execution(thingName=first)
    device.update_job_execution(thingName=first, jobId="del-things", status="SUCCEEDED")
    vserver.advance_clock(60)
    job = viot.describe_job(jobId="del-things")["job"]
    assert job["status"] == "COMPLETED"  # nothing waits for the deleted things
    assert job["jobProcessDetails"]["numberOfRemovedThings"] == 1
