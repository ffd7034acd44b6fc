"""Shared set-up for the jobs tests: a virtual-clock otahub, things in a group, devices over iot-jobs-data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.harness import OtahubServer

ARN = "arn:aws:iot:us-east-1:123456789012:{}/{}"
DOC = '{"operation": "update", "version": "1.2.0"}'


@pytest.fixture(scope="module")
def vserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    """An otahub whose clock moves only when a test advances it."""
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-jobs"), virtual_clock=True).start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def viot(vserver: OtahubServer) -> Any:
    return vserver.client("iot")


@pytest.fixture(scope="module")
def device(vserver: OtahubServer) -> Any:
    return vserver.client("iot-jobs-data")


def fleet(iot: Any, prefix: str, n: int) -> tuple[str, list[str]]:
    """A thing group with n things; returns the group ARN and the thing names."""
    group = f"{prefix}-group"
    iot.create_thing_group(thingGroupName=group)
    names = [f"{prefix}-{i:03d}" for i in range(n)]
    for name in names:
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName=group, thingName=name)
    return ARN.format("thinggroup", group), names


def process(iot: Any, job_id: str) -> dict[str, Any]:
    return dict(iot.describe_job(jobId=job_id)["job"]["jobProcessDetails"])


def executions(iot: Any, job_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in iot.get_paginator("list_job_executions_for_job").paginate(jobId=job_id):
        found += page["executionSummaries"]
    return found


def status_counts(iot: Any, job_id: str) -> Counter[str]:
    return Counter(e["jobExecutionSummary"]["status"] for e in executions(iot, job_id))


def server_now(server: OtahubServer) -> datetime:
    return datetime.fromisoformat(server.advance_clock(0))


def schedule_time(when: datetime) -> str:
    """AWS's StringDateTime: UTC, YYYY-MM-DDTHH:MM."""
    return when.strftime("%Y-%m-%dT%H:%M")


def minutes(n: float) -> float:
    return timedelta(minutes=n).total_seconds()


def data_dir(server: OtahubServer) -> Path:
    return server.data_dir
