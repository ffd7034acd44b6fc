"""The OTA agent's state machine, transport-independent (the FreeRTOS OTA agent's flow, ota-update-job.md 4).

One ``run_once`` takes the next pending job execution and carries it as far as it goes::

    no self_test in statusDetails:  download (receive n/total) -> size + signature -> install into the
                                    inactive slot -> IN_PROGRESS self_test ready -> "reboot" (switch slots)
    self_test in statusDetails:     the booted image reports its version -> must be newer than updatedBy
    (after the reboot)              -> IN_PROGRESS self_test active -> self-test -> commit and SUCCEEDED,
                                    or roll back to the old slot and FAILED

The firmware file is opaque, so the job document carries no version of it; the version of a new image
is what that image reports when it boots: the ``boot`` hook (a real device would read its own header,
the tests and the CLI say which version the image under test claims). A reboot here is in-process: the
agent switches slots and goes on as a freshly booted device would, by taking its job again. Because
every step is durable (slot state, download progress) and the job stays IN_PROGRESS on the server, a
restarted agent continues the same way: start-next hands back the IN_PROGRESS execution unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from otahub.device import status
from otahub.device.document import DocumentError, Execution, JobGone, OtaFile, parse_document
from otahub.device.download import DownloadError, RangedDownloader, SizeMismatch
from otahub.device.slots import SlotStore
from otahub.device.sources import FileSource, HttpSource
from otahub.device.status import AppVersion, Details
from otahub.device.verify import check_image

log = logging.getLogger(__name__)

Boot = Callable[[Path], AppVersion]  # the image in the active slot booted: the version it reports
SelfTest = Callable[[Path], bool]  # the booted image's own checks: True to keep it


class JobsTransport(Protocol):
    """The device side of AWS IoT Jobs the agent needs: iot-jobs-data over HTTP, or the jobs MQTT topics."""

    async def start_next(self) -> Execution | None:
        """StartNextPendingJobExecution: the next pending execution, now IN_PROGRESS; None when there is none."""

    async def describe(self, job_id: str) -> Execution:
        """DescribeJobExecution with its job document (fresh presigned URLs)."""

    async def update(self, job_id: str, job_status: str, details: Details,
                     execution_number: int | None = None) -> None:
        """UpdateJobExecution with a status and statusDetails, for that execution only when a number is given
        (so that a report about a timed-out attempt is refused rather than taken as its retry's)."""

    async def wait_for_work(self, seconds: float) -> None:
        """Wait up to ``seconds`` for a job to arrive (notify-next over MQTT; plain waiting over HTTP)."""


ABANDONED = "ABANDONED"  # the service took the job away (canceled, timed out, deleted) while the agent ran it


@dataclass(frozen=True, slots=True)
class Outcome:
    job_id: str
    status: str  # SUCCEEDED | FAILED | ABANDONED
    details: Details
    message: str = ""


class Agent:
    def __init__(self, transport: JobsTransport, store: SlotStore, signer_certs: Path, *, boot: Boot,
                 self_test: SelfTest | None = None, sources: Sequence[FileSource] | None = None,
                 version: AppVersion | None = None) -> None:
        self.transport = transport
        self.store = store
        self.signer_certs = signer_certs
        self.boot = boot
        self.self_test: SelfTest = self_test or (lambda _image: True)
        default = (HttpSource(RangedDownloader(store.root / "download")),)
        self.sources: tuple[FileSource, ...] = tuple(sources or default)
        self.version = store.version() or version or AppVersion(0, 0, 0)  # the running image's version
        self._number: int | None = None  # the execution being worked on

    async def run_once(self) -> Outcome | None:
        """Handle the next pending job to its end (or to a failure); None when no job is pending."""
        execution = await self.transport.start_next()
        self._number = execution.execution_number or None if execution is not None else None
        if execution is None:
            if self.store.testing:  # booted into an image under test, but its job is gone
                self.store.rollback()
                self.version = self.store.version() or self.version
            return None
        try:
            if "self_test" in execution.status_details:
                return await self._after_boot(execution)
            return await self._update(execution)
        except JobGone as exc:
            return self._abandon(execution.job_id, str(exc))

    async def _report(self, job_id: str, job_status: str, details: Details) -> None:
        await self.transport.update(job_id, job_status, details, self._number)

    def _abandon(self, job_id: str, message: str) -> Outcome:
        """The job is gone: drop its partial download, and go back to the image that ran before it."""
        for source in self.sources:
            source.discard()
        if self.store.testing:
            self.store.rollback()
        elif self.store.state.pending:
            self.store.discard_pending()
        self.version = self.store.version() or self.version
        log.info("%s: abandoned (%s)", job_id, message)
        return Outcome(job_id, ABANDONED, {}, message)

    # -- download, verify, install, reboot

    def _source(self, spec: OtaFile) -> FileSource | None:
        return next((source for source in self.sources if source.serves(spec)), None)

    async def _update(self, execution: Execution) -> Outcome:
        job_id = execution.job_id
        try:
            spec = parse_document(execution.document)
        except DocumentError as exc:
            return await self._fail(job_id, status.failed(status.OTA_ERR_JOB_PARSER_ERROR, 0), str(exc))
        source = self._source(spec)
        if source is None:
            return await self._fail(job_id, status.failed(status.OTA_ERR_INVALID_DATA_PROTOCOL, 0),
                                    f"no way to fetch the file: the document offers {', '.join(spec.protocols)}")
        try:
            image = await self._download(execution, spec, source)
        except SizeMismatch as exc:
            source.discard()
            return await self._fail(job_id, status.failed(status.pal_status(status.OTA_PAL_FILE_CLOSE),
                                                          status.INGEST_RESULT_BAD_DATA), str(exc))
        except DownloadError as exc:
            source.discard()
            return await self._fail(job_id, status.failed(status.OTA_ERR_MOMENTUM_ABORT, 0), str(exc))
        problem = check_image(image, spec, self.signer_certs)
        if problem is not None:
            source.discard()
            return await self._fail(job_id, status.failed(problem.error, problem.sub_error), problem.message)
        await asyncio.to_thread(self.store.install, image)
        source.discard()
        await self._report(job_id, "IN_PROGRESS", status.self_test_ready(self.version))
        self.store.switch()
        log.info("%s: rebooting into slot %s", job_id, self.store.active)
        rebooted = await self.transport.start_next()  # what the new image does first: ask for its job
        self._number = rebooted.execution_number or None if rebooted is not None else None
        if rebooted is None or rebooted.job_id != job_id or "self_test" not in rebooted.status_details:
            self.store.rollback()
            self.version = self.store.version() or self.version
            return Outcome(job_id, "FAILED", {}, "the job was gone after the reboot; rolled back")
        return await self._after_boot(rebooted)

    async def _download(self, execution: Execution, spec: OtaFile, source: FileSource) -> Path:
        async def fresh() -> OtaFile:
            return parse_document((await self.transport.describe(execution.job_id)).document)

        async def on_block(received: int, total: int) -> None:
            if status.should_report_block(received):
                await self._report(execution.job_id, "IN_PROGRESS", status.receive(received, total))

        key = f"{execution.job_id}#{execution.execution_number}"
        return await source.fetch(key, spec, fresh, on_block)

    # -- the new image, booted

    async def _after_boot(self, execution: Execution) -> Outcome:
        job_id = execution.job_id
        old_word = status.parse_updated_by(execution.status_details.get("updatedBy")) or 0
        old = AppVersion.from_word(old_word)
        if not self.store.testing and self.store.state.pending and execution.status_details["self_test"] == "ready":
            self.store.switch()  # power was lost between "ready" and the reboot: reboot now
        if not self.store.testing:
            return await self._not_testing(job_id, old_word)
        if execution.status_details.get("self_test") == "active":  # reset while testing: the test did not pass
            return await self._roll_back(job_id, status.rejected(status.SELF_TEST_REJECTED),
                                         "the self-test was interrupted")
        image = self.store.active_image()
        try:
            new = self.boot(image)
        except Exception as exc:
            log.exception("%s: the new image did not boot", job_id)
            return await self._roll_back(job_id, status.failed(status.OTA_ERR_ACTIVATE_FAILED, 0),
                                         f"boot failed: {exc}")
        if new.word <= old_word:
            same = new.word == old_word
            code = status.OTA_ERR_SAME_FIRMWARE_VERSION if same else status.OTA_ERR_DOWNGRADE_NOT_ALLOWED
            return await self._roll_back(job_id, status.rejected(code), f"v{new} is not newer than v{old}")
        await self._report(job_id, "IN_PROGRESS", status.self_test_active(new))
        try:
            passed = self.self_test(image)
        except Exception:
            log.exception("%s: the self-test raised", job_id)
            passed = False
        if not passed:
            return await self._roll_back(job_id, status.rejected(status.SELF_TEST_REJECTED), "the self-test failed")
        self.store.commit(new)
        self.version = new
        return await self._finish(job_id, "SUCCEEDED", status.accepted(new, old), "")

    async def _not_testing(self, job_id: str, old_word: int) -> Outcome:
        """A job in self-test while no image is: committed before a restart lost the report, or a mismatch."""
        current, previous = self.store.version(), self.store.version(self.store.inactive)
        if current is not None and previous is not None and previous < current and current.word >= old_word:
            return await self._finish(job_id, "SUCCEEDED", status.accepted(current, previous),
                                      "committed before a restart")
        return await self._fail(job_id, status.rejected(status.OTA_ERR_IMAGE_STATE_MISMATCH),
                                "the job is in self-test but no image is under test")

    async def _roll_back(self, job_id: str, details: Details, message: str) -> Outcome:
        self.store.rollback()
        self.version = self.store.version() or self.version
        return await self._fail(job_id, details, f"{message}; rolled back to slot {self.store.active}")

    async def _fail(self, job_id: str, details: Details, message: str) -> Outcome:
        return await self._finish(job_id, "FAILED", details, message)

    async def _finish(self, job_id: str, job_status: str, details: Details, message: str) -> Outcome:
        log.info("%s: %s %s %s", job_id, job_status, details, message)
        await self._report(job_id, job_status, details)
        return Outcome(job_id, job_status, details, message)
