"""Every constraint of the iot-managed-integrations model on the operations otahub implements (lengths, patterns,
ranges, enums, required members), and the rules the engine adds, answer ValidationException 400 naming the
member. Each row changes one member of a request that succeeds as it is, so a row can only pass against an
otahub that implements the operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import schedule_time, server_now
from tests.e2e.managed_helpers import document_url, managed_thing, mi, raw_mi, viot, vserver
from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

__all__ = ["document_url", "mi", "raw_mi", "viot", "vserver"]  # fixtures

Change = Callable[[dict[str, Any]], None]


def put(path: str, value: Any) -> Change:
    """Set a member by dotted path (list items by index), creating structures on the way."""
    def change(params: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = params
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def drop(path: str) -> Change:
    def change(params: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = params
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]
    return change


@pytest.fixture(scope="module")
def baseline(vserver: OtahubServer, mi: Any, document_url: str) -> dict[str, Callable[[], dict[str, Any]]]:
    """For each operation, parameters that succeed (fresh ones for each call of a delete)."""
    thing = managed_thing(mi)
    configuration = mi.create_ota_task_configuration()["TaskConfigurationId"]
    task = mi.create_ota_task(S3Url=document_url, OtaType="ONE_TIME", Target=[thing])["TaskId"]
    begin = (server_now(vserver) + timedelta(days=1)).replace(second=0, microsecond=0)
    fixed: dict[str, dict[str, Any]] = {
        "create_ota_task": {
            "S3Url": document_url, "OtaType": "ONE_TIME", "Target": [thing], "Description": "d", "Protocol": "HTTP",
            "OtaMechanism": "PUSH", "TaskConfigurationId": configuration, "Tags": {"k": "v"},
            "OtaSchedulingConfig": {
                "StartTime": schedule_time(begin), "EndTime": schedule_time(begin + timedelta(hours=2)),
                "EndBehavior": "CANCEL",
                "MaintenanceWindows": [{"StartTime": "cron(0 2 * * ? *)", "DurationInMinutes": 60}]},
            "OtaTaskExecutionRetryConfig": {
                "RetryConfigCriteria": [{"FailureType": "FAILED", "MinNumberOfRetries": 2}]},
        },
        "create_ota_task_configuration": {
            "Name": "n", "Description": "d", "PushConfig": {
                "AbortConfig": {"AbortConfigCriteriaList": [{
                    "Action": "CANCEL", "FailureType": "FAILED", "MinNumberOfExecutedThings": 1,
                    "ThresholdPercentage": 10}]},
                "RolloutConfig": {"MaximumPerMinute": 10, "ExponentialRolloutRate": {
                    "BaseRatePerMinute": 1, "IncrementFactor": 1.1, "RateIncreaseCriteria": {
                        "numberOfNotifiedThings": 1}}},
                "TimeoutConfig": {"InProgressTimeoutInMinutes": 1}}},
        "create_managed_thing": {
            "Role": "DEVICE", "AuthenticationMaterial": "code", "AuthenticationMaterialType": "ZWAVE_QR_BAR_CODE",
            "Owner": "o", "SerialNumber": "s", "Brand": "b", "Model": "m", "Name": "n", "CredentialLockerId": "c",
            "Classification": "c", "MetaData": {"k": "v"}, "Tags": {"k": "v"}, "Capabilities": "light bulb",
            "WiFiSimpleSetupConfiguration": {"TimeoutInMinutes": 5},
            "CapabilityReport": {"version": "1.0.0", "endpoints": []},
        },
        "update_managed_thing": {"Identifier": thing, "Name": "n", "Brand": "b", "MetaData": {"k": "v"},
                                 "Owner": "o", "SerialNumber": "s", "CredentialLockerId": "c", "Model": "m",
                                 "Classification": "c", "WiFiSimpleSetupConfiguration": {"TimeoutInMinutes": 15}},
        "get_managed_thing": {"Identifier": thing},
        "get_managed_thing_meta_data": {"Identifier": thing},
        "get_managed_thing_state": {"ManagedThingId": thing},
        "list_managed_things": {"MaxResults": 5, "RoleFilter": "DEVICE", "OwnerFilter": "o",
                                "SerialNumberFilter": "s", "CredentialLockerFilter": "c"},
        "get_ota_task": {"Identifier": task},
        "update_ota_task": {"Identifier": task, "Description": "d", "TaskConfigurationId": configuration},
        "list_ota_tasks": {"MaxResults": 5},
        "list_ota_task_executions": {"Identifier": task, "MaxResults": 5},
        "get_ota_task_configuration": {"Identifier": configuration},
        "list_ota_task_configurations": {"MaxResults": 5},
    }
    made: dict[str, Callable[[], dict[str, Any]]] = {op: (lambda p=params: _copy(p)) for op, params in fixed.items()}
    made["delete_managed_thing"] = lambda: {"Identifier": managed_thing(mi), "Force": False}
    made["delete_ota_task"] = lambda: {"Identifier": mi.create_ota_task(
        S3Url=document_url, OtaType="ONE_TIME", Target=[thing])["TaskId"]}
    made["delete_ota_task_configuration"] = lambda: {
        "Identifier": mi.create_ota_task_configuration()["TaskConfigurationId"]}
    return made


T = "OtaSchedulingConfig"
R = "OtaTaskExecutionRetryConfig.RetryConfigCriteria.0"
P = "PushConfig"
ABORT = f"{P}.AbortConfig.AbortConfigCriteriaList.0"
RAMP = f"{P}.RolloutConfig.ExponentialRolloutRate"

ROWS: list[tuple[str, Change, str]] = [
    # CreateOtaTask: the model
    ("create_ota_task", drop("S3Url"), "S3Url"),
    ("create_ota_task", put("S3Url", ""), "S3Url"),
    ("create_ota_task", put("S3Url", "s3://b/" + "k" * 995), "S3Url"),
    ("create_ota_task", drop("OtaType"), "OtaType"),
    ("create_ota_task", put("OtaType", "TWICE"), "OtaType"),
    ("create_ota_task", put("Description", ""), "Description"),
    ("create_ota_task", put("Description", "d" * 257), "Description"),
    ("create_ota_task", put("Description", "no dots."), "Description"),
    ("create_ota_task", put("Protocol", "MQTT"), "Protocol"),
    ("create_ota_task", put("OtaMechanism", "PULL"), "OtaMechanism"),
    ("create_ota_task", put("TaskConfigurationId", ""), "TaskConfigurationId"),
    ("create_ota_task", put("TaskConfigurationId", "c" * 65), "TaskConfigurationId"),
    ("create_ota_task", put("TaskConfigurationId", "with-dash"), "TaskConfigurationId"),
    ("create_ota_task", put("ClientToken", ""), "ClientToken"),
    ("create_ota_task", put("ClientToken", "t" * 65), "ClientToken"),
    ("create_ota_task", put("ClientToken", "not/allowed"), "ClientToken"),
    ("create_ota_task", put(f"{T}.EndBehavior", "STOP"), "EndBehavior"),
    ("create_ota_task", put(f"{T}.MaintenanceWindows.0.DurationInMinutes", 0), "DurationInMinutes"),
    ("create_ota_task", put(f"{T}.MaintenanceWindows.0.DurationInMinutes", 1431), "DurationInMinutes"),
    ("create_ota_task", put(f"{R}.FailureType", "REJECTED"), "FailureType"),
    ("create_ota_task", put(f"{R}.MinNumberOfRetries", -1), "MinNumberOfRetries"),
    ("create_ota_task", put(f"{R}.MinNumberOfRetries", 11), "MinNumberOfRetries"),
    ("create_ota_task", put("Tags", {}), "Tags"),
    ("create_ota_task", put("Tags", {f"k{i}": "v" for i in range(51)}), "Tags"),
    ("create_ota_task", put("Tags", {"": "v"}), "Tags"),
    ("create_ota_task", put("Tags", {"k" * 129: "v"}), "Tags"),
    ("create_ota_task", put("Tags", {"k": "v" * 257}), "Tags"),
    # CreateOtaTask: what the engine needs besides
    ("create_ota_task", put(f"{T}.StartTime", "tomorrow"), f"{T}.StartTime"),
    ("create_ota_task", put(f"{T}.StartTime", "2999-01-01T00:00"), f"{T}.StartTime"),
    ("create_ota_task", put(f"{T}.EndTime", "2000-01-01T00:00"), f"{T}.EndTime"),
    ("create_ota_task", put(f"{T}.MaintenanceWindows.0.StartTime", "cron(61 2 * * ? *)"),
     f"{T}.MaintenanceWindows.StartTime"),
    ("create_ota_task", drop(f"{T}.MaintenanceWindows.0.DurationInMinutes"), "DurationInMinutes"),
    ("create_ota_task", drop(f"{T}.MaintenanceWindows.0.StartTime"), f"{T}.MaintenanceWindows.StartTime"),
    ("create_ota_task", drop(f"{R}.MinNumberOfRetries"), "MinNumberOfRetries"),
    ("create_ota_task", drop(f"{R}.FailureType"), "FailureType"),
    ("create_ota_task", put("OtaTaskExecutionRetryConfig.RetryConfigCriteria", [
        {"FailureType": "ALL", "MinNumberOfRetries": 1}, {"FailureType": "FAILED", "MinNumberOfRetries": 1}]),
     "OtaTaskExecutionRetryConfig.RetryConfigCriteria"),
    ("create_ota_task", put("Target", []), "Target"),
    ("create_ota_task", put("Target", ["x"] * 101), "Target"),
    ("create_ota_task", put("Target", ["arn:aws:iot:us-east-1:123456789012:thing/x"]), "Target"),
    ("create_ota_task", put("OtaTargetQueryString", "Colour:red"), "OtaTargetQueryString"),
    ("create_ota_task", put("OtaTargetQueryString", "Brand:[a TO"), "OtaTargetQueryString"),
    ("create_ota_task", put("S3Url", "https://example.com/job.json"), "S3Url"),
    # CreateOtaTaskConfiguration: the model
    ("create_ota_task_configuration", put("Name", ""), "Name"),
    ("create_ota_task_configuration", put("Name", "n" * 129), "Name"),
    ("create_ota_task_configuration", put("Name", "semi;colon"), "Name"),
    ("create_ota_task_configuration", put("Description", "d" * 257), "Description"),
    ("create_ota_task_configuration", put("ClientToken", "bad token"), "ClientToken"),
    ("create_ota_task_configuration", put(f"{ABORT}.Action", "STOP"), "Action"),
    ("create_ota_task_configuration", put(f"{ABORT}.FailureType", "SLOW"), "FailureType"),
    ("create_ota_task_configuration", put(f"{ABORT}.MinNumberOfExecutedThings", 0), "MinNumberOfExecutedThings"),
    ("create_ota_task_configuration", put(f"{ABORT}.MinNumberOfExecutedThings", 101), "MinNumberOfExecutedThings"),
    ("create_ota_task_configuration", put(f"{ABORT}.ThresholdPercentage", 100.5), "ThresholdPercentage"),
    ("create_ota_task_configuration", put(f"{RAMP}.BaseRatePerMinute", 0), "BaseRatePerMinute"),
    ("create_ota_task_configuration", put(f"{RAMP}.BaseRatePerMinute", 101), "BaseRatePerMinute"),
    ("create_ota_task_configuration", put(f"{RAMP}.IncrementFactor", 1.0), "IncrementFactor"),
    ("create_ota_task_configuration", put(f"{RAMP}.IncrementFactor", 5.1), "IncrementFactor"),
    ("create_ota_task_configuration", put(f"{RAMP}.RateIncreaseCriteria.numberOfNotifiedThings", 0),
     "numberOfNotifiedThings"),
    ("create_ota_task_configuration", put(f"{RAMP}.RateIncreaseCriteria.numberOfNotifiedThings", 101),
     "numberOfNotifiedThings"),
    ("create_ota_task_configuration", put(f"{RAMP}.RateIncreaseCriteria", {"numberOfSucceededThings": 101}),
     "numberOfSucceededThings"),
    ("create_ota_task_configuration", put(f"{P}.RolloutConfig.MaximumPerMinute", 0), "MaximumPerMinute"),
    ("create_ota_task_configuration", put(f"{P}.TimeoutConfig.InProgressTimeoutInMinutes", 0),
     "InProgressTimeoutInMinutes"),
    ("create_ota_task_configuration", put(f"{P}.TimeoutConfig.InProgressTimeoutInMinutes", 10081),
     "InProgressTimeoutInMinutes"),
    # CreateOtaTaskConfiguration: what the engine needs besides
    ("create_ota_task_configuration", drop(f"{ABORT}.FailureType"), "FailureType"),
    ("create_ota_task_configuration", drop(f"{ABORT}.ThresholdPercentage"), "ThresholdPercentage"),
    ("create_ota_task_configuration", drop(f"{ABORT}.MinNumberOfExecutedThings"), "MinNumberOfExecutedThings"),
    ("create_ota_task_configuration", put(f"{ABORT}.ThresholdPercentage", 10.125), f"{ABORT[:-2]}.ThresholdPercentage"),
    ("create_ota_task_configuration", drop(f"{RAMP}.BaseRatePerMinute"), "BaseRatePerMinute"),
    ("create_ota_task_configuration", drop(f"{RAMP}.IncrementFactor"), "IncrementFactor"),
    ("create_ota_task_configuration", put(f"{RAMP}.IncrementFactor", 1.25), f"{RAMP}.IncrementFactor"),
    ("create_ota_task_configuration", drop(f"{RAMP}.RateIncreaseCriteria"), f"{RAMP}.RateIncreaseCriteria"),
    ("create_ota_task_configuration", put(f"{RAMP}.RateIncreaseCriteria", {
        "numberOfNotifiedThings": 1, "numberOfSucceededThings": 1}), f"{RAMP}.RateIncreaseCriteria"),
    # managed things
    ("create_managed_thing", drop("Role"), "Role"),
    ("create_managed_thing", put("Role", "HUB"), "Role"),
    ("create_managed_thing", drop("AuthenticationMaterial"), "AuthenticationMaterial"),
    ("create_managed_thing", put("AuthenticationMaterial", "a" * 513), "AuthenticationMaterial"),
    ("create_managed_thing", put("AuthenticationMaterial", "tab\tnot allowed"), "AuthenticationMaterial"),
    ("create_managed_thing", drop("AuthenticationMaterialType"), "AuthenticationMaterialType"),
    ("create_managed_thing", put("AuthenticationMaterialType", "NFC"), "AuthenticationMaterialType"),
    ("create_managed_thing", put("Owner", "has space"), "Owner"),
    ("create_managed_thing", put("Owner", "o" * 65), "Owner"),
    ("create_managed_thing", put("CredentialLockerId", "with-dash"), "CredentialLockerId"),
    ("create_managed_thing", put("SerialNumber", "s" * 129), "SerialNumber"),
    ("create_managed_thing", put("Brand", "bang!"), "Brand"),
    ("create_managed_thing", put("Model", ""), "Model"),
    ("create_managed_thing", put("Name", "n" * 129), "Name"),
    ("create_managed_thing", put("Name", "no/slash"), "Name"),
    ("create_managed_thing", put("Classification", ""), "Classification"),
    ("create_managed_thing", put("MetaData", {}), "MetaData"),
    ("create_managed_thing", put("MetaData", {"k": "v" * 801}), "MetaData"),
    ("create_managed_thing", put("MetaData", {"managedThing.Role": "v"}), "MetaData"),
    ("create_managed_thing", put("WiFiSimpleSetupConfiguration.TimeoutInMinutes", 4), "TimeoutInMinutes"),
    ("create_managed_thing", put("WiFiSimpleSetupConfiguration.TimeoutInMinutes", 16), "TimeoutInMinutes"),
    ("create_managed_thing", put("CapabilityReport.version", "2.0.0"), "version"),
    ("create_managed_thing", drop("CapabilityReport.endpoints"), "endpoints"),
    ("create_managed_thing", put("ClientToken", "bad token"), "ClientToken"),
    ("update_managed_thing", put("Identifier", "bad!"), "Identifier"),
    ("update_managed_thing", put("Name", "n" * 129), "Name"),
    ("update_managed_thing", put("Brand", "bang!"), "Brand"),
    ("update_managed_thing", put("MetaData", {"managedThing.Brand": "v"}), "MetaData"),
    ("update_managed_thing", put("HubNetworkMode", "LOUD"), "HubNetworkMode"),
    ("get_managed_thing", put("Identifier", "i" * 65), "Identifier"),
    ("get_managed_thing", put("Identifier", "bad!"), "Identifier"),
    ("list_managed_things", put("MaxResults", 0), "MaxResults"),
    ("list_managed_things", put("MaxResults", 1001), "MaxResults"),
    ("list_managed_things", put("RoleFilter", "HUB"), "RoleFilter"),
    ("list_managed_things", put("ProvisioningStatusFilter", "GONE"), "ProvisioningStatusFilter"),
    ("list_managed_things", put("OwnerFilter", "has space"), "OwnerFilter"),
    ("list_managed_things", put("NextToken", "a+b"), "NextToken"),
    # the other OTA operations
    ("get_ota_task", put("Identifier", "with-dash"), "Identifier"),
    ("get_ota_task", put("Identifier", "i" * 201), "Identifier"),
    ("update_ota_task", put("Description", "no dots."), "Description"),
    ("update_ota_task", put("TaskConfigurationId", "with-dash"), "TaskConfigurationId"),
    ("list_ota_tasks", put("MaxResults", 0), "MaxResults"),
    ("list_ota_tasks", put("MaxResults", 1001), "MaxResults"),
    ("list_ota_tasks", put("NextToken", "not a token!"), "NextToken"),
    ("list_ota_task_executions", put("MaxResults", 1001), "MaxResults"),
    ("list_ota_task_executions", put("Identifier", "with-dash"), "Identifier"),
    ("get_ota_task_configuration", put("Identifier", "with-dash"), "Identifier"),
    ("list_ota_task_configurations", put("MaxResults", 0), "MaxResults"),
    ("list_ota_task_configurations", put("NextToken", "a/b"), "NextToken"),  # no / here, unlike ListOtaTasks
    ("list_ota_task_configurations", put("MaxResults", 1001), "MaxResults"),
    ("list_ota_task_executions", put("NextToken", "not a token!"), "NextToken"),
    ("update_ota_task", put("Identifier", "with-dash"), "Identifier"),
    ("delete_ota_task", put("Identifier", "with-dash"), "Identifier"),
    ("delete_ota_task", put("Identifier", "i" * 201), "Identifier"),
    ("delete_ota_task_configuration", put("Identifier", "with-dash"), "Identifier"),
    ("delete_ota_task_configuration", put("Identifier", "c" * 65), "Identifier"),
    ("delete_managed_thing", put("Identifier", "bad!"), "Identifier"),
    ("delete_managed_thing", put("Force", "yes"), "Force"),
    ("get_managed_thing_meta_data", put("Identifier", "bad!"), "Identifier"),
    ("get_managed_thing_state", put("ManagedThingId", "i" * 65), "ManagedThingId"),
    ("create_managed_thing", put("Tags", {}), "Tags"),
    ("create_managed_thing", put("Tags", {"k" * 129: "v"}), "Tags"),
    ("create_managed_thing", put("Capabilities", ""), "Capabilities"),
    ("create_managed_thing", put("Capabilities", "no <angle> brackets"), "Capabilities"),
    ("create_managed_thing", put("CapabilitySchemas", [{"Format": "AWS"}]), "CapabilityId"),
    ("create_managed_thing", put("CapabilitySchemas", [{
        "Format": "XML", "CapabilityId": "light.on@1.0", "ExtrinsicId": "0x6", "ExtrinsicVersion": 1,
        "Schema": {}}]), "Format"),
    ("create_managed_thing", put("CapabilityReport.endpoints", [{"id": "e-1", "deviceTypes": [],
                                                                 "capabilities": []}]), "id"),
    ("update_managed_thing", put("Owner", "has space"), "Owner"),
    ("update_managed_thing", put("SerialNumber", "bang!"), "SerialNumber"),
    ("update_managed_thing", put("CredentialLockerId", "c" * 65), "CredentialLockerId"),
    ("update_managed_thing", put("Model", "m" * 129), "Model"),
    ("update_managed_thing", put("Classification", "c" * 65), "Classification"),
    ("update_managed_thing", put("WiFiSimpleSetupConfiguration.TimeoutInMinutes", 16), "TimeoutInMinutes"),
    ("update_managed_thing", put("CapabilityReport", {"version": "1.0.0"}), "endpoints"),
    ("list_managed_things", put("CredentialLockerFilter", "with-dash"), "CredentialLockerFilter"),
    ("list_managed_things", put("SerialNumberFilter", "s" * 129), "SerialNumberFilter"),
    ("list_managed_things", put("ParentControllerIdentifierFilter", "with-dash"), "ParentControllerIdentifierFilter"),
    ("list_managed_things", put("ConnectorPolicyIdFilter", "p" * 65), "ConnectorPolicyIdFilter"),
    ("list_managed_things", put("ConnectorDestinationIdFilter", "bang!"), "ConnectorDestinationIdFilter"),
    ("list_managed_things", put("ConnectorDeviceIdFilter", "has space"), "ConnectorDeviceIdFilter"),
]


@pytest.mark.parametrize(("operation", "change", "member"), ROWS,
                         ids=[f"{op}-{member}-{i}" for i, (op, _, member) in enumerate(ROWS)])
def test_each_constraint_is_a_validation_exception_naming_the_member(
    raw_mi: Any, baseline: dict[str, Callable[[], dict[str, Any]]], operation: str, change: Change, member: str,
) -> None:
    call = getattr(raw_mi, operation)
    answered = call(**baseline[operation]())  # as it is, the request succeeds
    assert answered["ResponseMetadata"]["HTTPStatusCode"] in (200, 201, 204)
    params = baseline[operation]()
    change(params)
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    assert error_of(excinfo) == ("ValidationException", 400)
    assert member in excinfo.value.response["Error"]["Message"]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
