"""The agent's jobs transport over ``iot-jobs-data`` (HTTPS Jobs API) with boto3."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import boto3
import boto3.session
from botocore.exceptions import ClientError

from otahub.device.document import Execution, JobGone
from otahub.device.status import Details


def jobs_data_client(endpoint: str, region: str, *, access_key_id: str | None = None,
                     secret_access_key: str | None = None) -> Any:
    """A boto3 ``iot-jobs-data`` client; credentials from the arguments or boto3's usual chain."""
    return boto3.client(
        "iot-jobs-data", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=boto3.session.Config(retries={"max_attempts": 3, "mode": "standard"}),
    )


def _execution(raw: dict[str, Any]) -> Execution:
    return Execution(
        job_id=str(raw["jobId"]), status=str(raw.get("status", "")),
        status_details=dict(raw.get("statusDetails") or {}), document=raw.get("jobDocument"),
        version_number=int(raw.get("versionNumber", 0)), execution_number=int(raw.get("executionNumber", 0)),
    )


GONE = ("TerminalStateException", "InvalidStateTransitionException", "ResourceNotFoundException")
JOBS_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="jobs-http")  # boto3 blocks


class HttpJobs:
    """JobsTransport for one thing: StartNextPendingJobExecution, DescribeJobExecution, UpdateJobExecution.

    boto3 clients are thread-safe, so a fleet shares one; its calls run on ``JOBS_THREADS``.
    """

    def __init__(self, client: Any, thing_name: str, executor: ThreadPoolExecutor = JOBS_THREADS) -> None:
        self.client = client
        self.thing_name = thing_name
        self.executor = executor

    async def _call(self, method: Any, **params: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(method, **params))

    async def start_next(self) -> Execution | None:
        found = await self._call(self.client.start_next_pending_job_execution, thingName=self.thing_name)
        raw = found.get("execution")
        return _execution(raw) if raw else None

    async def describe(self, job_id: str) -> Execution:
        raw = await self._call(self.client.describe_job_execution, thingName=self.thing_name, jobId=job_id,
                               includeJobDocument=True)
        return _execution(raw["execution"])

    async def update(self, job_id: str, job_status: str, details: Details,
                     execution_number: int | None = None) -> None:
        number = {} if execution_number is None else {"executionNumber": execution_number}
        try:
            await self._call(self.client.update_job_execution, thingName=self.thing_name, jobId=job_id,
                             status=job_status, statusDetails=details, **number)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in GONE:
                raise JobGone(f"{job_id}: {exc}") from exc
            raise

    async def wait_for_work(self, seconds: float) -> None:
        await asyncio.sleep(seconds)  # HTTP has no push: the next poll is all there is
