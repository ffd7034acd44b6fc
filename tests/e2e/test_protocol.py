"""The protocol layer seen from boto3: validation per constraint kind, errors, unimplemented operations."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of
from tests.harness import OtahubServer


@pytest.fixture(scope="module")
def raw_iot(server: OtahubServer) -> Any:
    """A client that skips boto3's own checks, so the server's validation is what answers."""
    return server.client("iot", validate=False)


def test_missing_required_member(raw_iot: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.update_thing_group(thingGroupName="g")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "'thingGroupProperties'" in excinfo.value.response["Error"]["Message"]
    assert "must not be null" in excinfo.value.response["Error"]["Message"]


def test_too_long(raw_iot: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.create_thing(thingName="x" * 129)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    message = excinfo.value.response["Error"]["Message"]
    assert "'thingName'" in message and "length less than or equal to 128" in message


def test_pattern_mismatch(raw_iot: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.create_thing(thingName="bad name")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "regular expression pattern: [a-zA-Z0-9:_-]+" in excinfo.value.response["Error"]["Message"]


def test_nested_member_is_named(raw_iot: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.create_thing(thingName="ok", attributePayload={"attributes": {"k": "no spaces allowed"}})
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "'attributePayload.attributes.k'" in excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize("max_results", [0, 251])
def test_out_of_range(raw_iot: Any, max_results: int) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.list_things(maxResults=max_results)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "'maxResults'" in excinfo.value.response["Error"]["Message"]


def test_bad_enum_is_checked_before_anything_else(raw_iot: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.list_jobs(status="SOMETIMES")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "enum value set" in excinfo.value.response["Error"]["Message"]


def test_wrong_type_in_body(raw_iot: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw_iot.update_thing(thingName="t", expectedVersion="seven")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "'expectedVersion'" in excinfo.value.response["Error"]["Message"]


def test_other_services_answer_with_their_own_validation_shape(server: OtahubServer) -> None:
    wireless = server.client("iotwireless", validate=False)
    with pytest.raises(ClientError) as excinfo:
        wireless.get_wireless_device(Identifier="x", IdentifierType="NotAType")
    assert error_of(excinfo) == ("ValidationException", 400)
    managed = server.client("iot-managed-integrations", validate=False)
    with pytest.raises(ClientError) as excinfo:
        managed.get_ota_task(Identifier="not-alnum!")
    assert error_of(excinfo) == ("ValidationException", 400)


def test_unimplemented_operation_names_itself(server: OtahubServer) -> None:
    with pytest.raises(ClientError) as excinfo:
        server.client("iot").describe_audit_task(taskId="t")
    assert error_of(excinfo) == ("NotImplementedException", 501)
    assert "iot:DescribeAuditTask" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        server.client("iot-jobs-data").start_command_execution(
            targetArn="arn:aws:iot:us-east-1:123456789012:thing/t",
            commandArn="arn:aws:iot:us-east-1:123456789012:command/c")
    assert error_of(excinfo) == ("NotImplementedException", 501)
    assert "iot-jobs-data:StartCommandExecution" in excinfo.value.response["Error"]["Message"]


def test_same_path_in_two_services_routes_by_signing_name(server: OtahubServer, unique: str) -> None:
    """GET /things/{thingName}/jobs/{jobId} is both iot and iot-jobs-data DescribeJobExecution."""
    iot = server.client("iot")
    thing = iot.create_thing(thingName=f"route-{unique}")
    iot.create_job(jobId=f"route-{unique}", targets=[thing["thingArn"]], document="{}")
    control = iot.describe_job_execution(jobId=f"route-{unique}", thingName=f"route-{unique}")["execution"]
    assert control["thingArn"] == thing["thingArn"] and "jobDocument" not in control
    device = server.client("iot-jobs-data").describe_job_execution(jobId=f"route-{unique}",
                                                                   thingName=f"route-{unique}")["execution"]
    assert device["thingName"] == f"route-{unique}" and device["jobDocument"] == "{}"
