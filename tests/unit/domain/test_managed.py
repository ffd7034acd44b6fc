"""Managed-integrations domain rules: the backing thing's attributes, target queries as things queries, the task's
job configuration (the engine's checks, in the task's member names), idempotency fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from otahub.domain.errors import Conflict, InvalidInput
from otahub.domain.fleet_query import parse_query, thing_record
from otahub.domain.jobs import AbortCriterion, ExponentialRate, JobConfig, RetryCriterion, RolloutConfig, WindowSpec
from otahub.domain.managed import (
    ManagedThing,
    OtaSchedule,
    Profile,
    check_meta_data,
    checked_job_config,
    initial_provisioning_status,
    replayed,
    request_hash,
    target_query,
    task_job_config,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def managed(**profile: object) -> ManagedThing:
    return ManagedThing("mt1", "DEVICE", "code", "PRE_ONBOARDED_CLOUD", "UNASSOCIATED", Profile(**profile),  # type: ignore[arg-type]
                        NOW, NOW)


def backing_record(thing: ManagedThing) -> dict[str, object]:
    return dict(thing_record(thing.managed_thing_id, None, thing.attributes(), []))


def test_backing_attributes_hold_metadata_as_is_and_fields_under_the_prefix() -> None:
    thing = managed(brand="Acme", model="X1", meta_data={"region": "eu"})
    assert thing.attributes() == {"region": "eu", "managedThing.Role": "DEVICE",
                                  "managedThing.ProvisioningStatus": "UNASSOCIATED", "managedThing.Brand": "Acme",
                                  "managedThing.Model": "X1"}


@pytest.mark.parametrize(("query", "expected"), [
    ("Brand:acme", True), ("Brand:other", False), ("Model:X*", True), ("Role:DEVICE AND NOT Name:*", True),
    ("MetaData.region:eu", True), ("attributes.region:eu", True), ("attributes.region:us", False),
    ("Id:mt1", True), ("ManagedThingId:mt2", False), ("*", True), ("NOT Brand:acme", False),
    ("Brand:acme OR Model:none", True), ("ProvisioningStatus:UNASSOCIATED", True),
])
def test_target_queries_match_managed_things_only(query: str, expected: bool) -> None:
    thing = managed(brand="Acme", model="X1", meta_data={"region": "eu"})
    translated = parse_query(target_query(query))
    assert translated.matches(backing_record(thing)) is expected
    plain = thing_record("mt1", None, {"region": "eu", "Brand": "Acme"}, [])  # an ordinary thing
    assert not translated.matches(plain)


def test_target_query_errors_name_the_member() -> None:
    for query in ("Colour:red", "Brand:(", ""):
        with pytest.raises(InvalidInput) as excinfo:
            target_query(query)
        assert excinfo.value.field == "OtaTargetQueryString"
        assert excinfo.value.message.startswith("OtaTargetQueryString: ")


def test_reserved_metadata_keys() -> None:
    check_meta_data({"managedThing": "fine", "region": "eu"})
    with pytest.raises(InvalidInput) as excinfo:
        check_meta_data({"managedThing.Brand": "forged"})
    assert excinfo.value.field == "MetaData"


def test_profile_merge_replaces_what_is_given() -> None:
    profile = Profile(brand="Acme", name="a", meta_data={"x": "1", "y": "2"})
    merged = profile.merged(Profile(name="b", meta_data={"x": "3"}))
    assert (merged.brand, merged.name, merged.meta_data) == ("Acme", "b", {"x": "3"})


def test_provisioning_status_of_a_new_managed_thing() -> None:
    assert initial_provisioning_status("DISCOVERED_DEVICE", "o") == "DISCOVERED"
    assert initial_provisioning_status("ZIGBEE_QR_BAR_CODE", "o") == "PRE_ASSOCIATED"
    assert initial_provisioning_status("ZIGBEE_QR_BAR_CODE", None) == "UNASSOCIATED"


def test_schedule_for_the_job() -> None:
    windows = (WindowSpec("cron(0 2 * * ? *)", 60),)
    scheduling = OtaSchedule(end_behavior="CANCEL", windows=windows).for_job()
    assert (scheduling.end_behavior, scheduling.windows, scheduling.ends_at) == (None, windows, None)  # no EndTime
    timed = OtaSchedule("2026-12-02T10:00", "2026-12-02T12:00", "FORCE_CANCEL").for_job()
    assert (timed.starts_at, timed.ends_at, timed.end_behavior) == (
        datetime(2026, 12, 2, 10, 0, tzinfo=UTC), datetime(2026, 12, 2, 12, 0, tzinfo=UTC), "FORCE_CANCEL")
    for schedule, member in ((OtaSchedule(start_time="soon"), "OtaSchedulingConfig.StartTime"),
                             (OtaSchedule(end_time="2026-13-01T00:00"), "OtaSchedulingConfig.EndTime"),
                             (OtaSchedule(windows=(WindowSpec("cron(0 25 * * ? *)", 5),)),
                              "OtaSchedulingConfig.MaintenanceWindows.StartTime")):
        with pytest.raises(InvalidInput) as excinfo:
            schedule.for_job()
        assert excinfo.value.field == member


@pytest.mark.parametrize(("config", "member"), [
    (JobConfig(rollout=RolloutConfig(exponential=ExponentialRate(1, 1.25, 1))),
     "PushConfig.RolloutConfig.ExponentialRolloutRate.IncrementFactor"),
    (JobConfig(rollout=RolloutConfig(exponential=ExponentialRate(1, 2.0))),
     "PushConfig.RolloutConfig.ExponentialRolloutRate.RateIncreaseCriteria"),
    (JobConfig(abort=(AbortCriterion("FAILED", 1.005, 1),)),
     "PushConfig.AbortConfig.AbortConfigCriteriaList.ThresholdPercentage"),
    (JobConfig(retry=(RetryCriterion("FAILED", 1), RetryCriterion("FAILED", 2))),
     "OtaTaskExecutionRetryConfig.RetryConfigCriteria"),
])
def test_engine_rules_answer_in_the_tasks_member_names(config: JobConfig, member: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        checked_job_config(config, NOW)
    assert excinfo.value.field == member
    assert member in excinfo.value.message
    assert "jobExecutions" not in excinfo.value.message and "abortConfig" not in excinfo.value.message


def test_task_job_config_joins_push_retry_and_schedule() -> None:
    push = JobConfig(rollout=RolloutConfig(5), in_progress_timeout_minutes=30)
    retry = (RetryCriterion("ALL", 3),)
    config = task_job_config(push, retry, OtaSchedule(start_time="2026-12-02T10:00"), NOW)
    assert (config.rollout, config.in_progress_timeout_minutes, config.retry) == (RolloutConfig(5), 30, retry)
    assert config.scheduling is not None and config.scheduling.starts_at == datetime(2026, 12, 2, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput) as excinfo:
        task_job_config(None, (), OtaSchedule("2026-12-02T10:00", "2026-12-02T09:00"), NOW)
    assert excinfo.value.field == "OtaSchedulingConfig.EndTime"


def test_request_hash_ignores_map_order_only() -> None:
    ordered, reversed_ = Profile(meta_data={"a": "1", "b": "2"}), Profile(meta_data={"b": "2", "a": "1"})
    assert request_hash(ordered) == request_hash(reversed_)
    assert request_hash(Profile(meta_data={"a": "1"})) != request_hash(Profile(meta_data={"a": "2"}))
    assert request_hash(Profile(brand="x")) != request_hash(Profile(model="x"))


def test_replayed() -> None:
    thing = ManagedThing("mt1", "DEVICE", "c", "t", "s", Profile(), NOW, NOW, "tok", "h1")
    assert replayed(None, "h1", "Op") is None
    assert replayed(thing, "h1", "Op") is thing
    with pytest.raises(Conflict) as excinfo:
        replayed(thing, "h2", "CreateManagedThing")
    assert "tok" in excinfo.value.message and excinfo.value.field == "ClientToken"
