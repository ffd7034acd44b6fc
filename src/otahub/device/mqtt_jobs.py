"""The agent's jobs transport over the AWS IoT Jobs MQTT topics (iot-jobs-mqtt.md), on an ``MqttLink``.

Requests go to ``$aws/things/{thing}/jobs/start-next``, ``.../{jobId}/get`` and ``.../{jobId}/update``; the
link matches each ``.../accepted`` or ``.../rejected`` reply by its clientToken. Job documents arrive as
JSON objects on MQTT (strings over HTTP), so they are handed to the agent as JSON text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from otahub.device.document import Execution, JobGone
from otahub.device.mqtt_link import MqttLink, Rejected
from otahub.device.status import Details

GONE = ("TerminalStateReached", "InvalidStateTransition", "ResourceNotFound")


def _execution(raw: dict[str, Any]) -> Execution:
    document = raw.get("jobDocument")
    return Execution(
        job_id=str(raw["jobId"]), status=str(raw.get("status", "")),
        status_details=dict(raw.get("statusDetails") or {}),
        document=json.dumps(document) if isinstance(document, dict) else document,
        version_number=int(raw.get("versionNumber", 0)), execution_number=int(raw.get("executionNumber", 0)),
    )


class MqttJobs:
    def __init__(self, link: MqttLink) -> None:
        self.link = link

    async def _request(self, suffix: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.link.connect()
        return await self.link.request(f"{self.link.prefix}/jobs/{suffix}", body)

    async def start_next(self) -> Execution | None:
        self.link.work.clear()  # what is pending now is in this answer
        raw = (await self._request("start-next", {})).get("execution")
        return _execution(raw) if raw else None

    async def describe(self, job_id: str) -> Execution:
        return _execution((await self._request(f"{job_id}/get", {"includeJobDocument": True}))["execution"])

    async def update(self, job_id: str, job_status: str, details: Details,
                     execution_number: int | None = None) -> None:
        body: dict[str, Any] = {"status": job_status, "statusDetails": details}
        if execution_number is not None:
            body["executionNumber"] = execution_number
        try:
            await self._request(f"{job_id}/update", body)
        except Rejected as exc:
            if exc.code in GONE:
                raise JobGone(f"{job_id}: {exc}") from exc
            raise

    async def wait_for_work(self, seconds: float) -> None:
        """Until notify-next announces an execution, or ``seconds`` pass (a missed push is caught by the poll)."""
        await self.link.connect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.link.work.wait(), seconds)
