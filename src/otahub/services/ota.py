"""Use cases of OTA updates: CreateOTAUpdate's pipeline (files checked in the object store, signatures
verified, a stream for MQTT, the AFR_OTA job), Get, List and Delete.

Create writes the update as CREATE_PENDING and answers with it; the pipeline then moves it to
CREATE_IN_PROGRESS and on to CREATE_COMPLETE or CREATE_FAILED with errorInfo, each step committed.
An update left unfinished by a crash is taken up again by `resume_unfinished` at start-up; every
step is idempotent (the stream id is kept before the stream is made, the job id is fixed).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, DomainError, InvalidState, NotFound
from otahub.domain.ids import Arns, new_uuid
from otahub.domain.jobs import PresignedUrlConfig, check_config
from otahub.domain.objects import Conditions
from otahub.domain.ota import (
    JOB_PREFIX,
    OTA_PRESIGNED_EXPIRY,
    ErrorInfo,
    OtaFile,
    OtaStatus,
    OtaUpdate,
    ResolvedFile,
    check_request,
    job_document,
    signing_problem,
)
from otahub.domain.signing import signature_problem
from otahub.domain.streams import FileRequest, S3Location
from otahub.services.jobs import JobRequest, JobService, ObjectReader
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory
from otahub.services.streams import StreamService
from otahub.services.tags import check_tags

Serialize = Callable[[Mapping[str, Any]], str]  # the job document as text (JSON, from the composition root)


class OtaFailure(Exception):
    """A reason the pipeline stops with CREATE_FAILED."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.info = ErrorInfo(code, message)


class OtaService:
    def __init__(self, uow: UnitOfWorkFactory, objects: ObjectReader, streams: StreamService, jobs: JobService,
                 clock: Clock, arns: Arns, serialize: Serialize) -> None:
        self.uow = uow
        self.objects = objects
        self.streams = streams
        self.jobs = jobs
        self.clock = clock
        self.arns = arns
        self.serialize = serialize

    # --- create ---------------------------------------------------------------------------------

    def create(self, update: OtaUpdate, tags: Mapping[str, str]) -> OtaUpdate:
        check_tags(dict(tags))
        check_request(update.ota_update_id, update.files, update.protocols)
        check_config(update.config)
        config = update.config
        if config.presigned_url is None or config.presigned_url.expires_in_sec is None:
            expires = PresignedUrlConfig(update.role_arn, OTA_PRESIGNED_EXPIRY)
            config = replace(config, presigned_url=expires)
        now = self.clock.now()
        pending = replace(update, config=config, status=OtaStatus.CREATE_PENDING, created_at=now, updated_at=now)
        with self.uow(write=True) as tx:
            arn = self.arns.ota_update(update.ota_update_id)
            if tx.ota_updates.get(update.ota_update_id) is not None:
                raise AlreadyExists("OTA update", update.ota_update_id, update.ota_update_id, arn)
            tx.ota_updates.add(pending)
            tx.tags.put(arn, dict(tags))
        self.process(update.ota_update_id)
        return pending

    def process(self, ota_update_id: str) -> OtaUpdate:
        """Run the pipeline of an update that is CREATE_PENDING or CREATE_IN_PROGRESS."""
        update = self._set(ota_update_id, status=OtaStatus.CREATE_IN_PROGRESS)
        try:
            resolved = [self._resolve(i, f) for i, f in enumerate(update.files)]
            self._check_targets(update.targets)
            stream_id, versions = self._stream_for(update, resolved)
            document = job_document(update.protocols, stream_id, resolved, versions)
            self._make_job(update, self.serialize(document))
        except OtaFailure as failure:
            return self._set(ota_update_id, status=OtaStatus.CREATE_FAILED, error=failure.info)
        return self._set(ota_update_id, status=OtaStatus.CREATE_COMPLETE, job_id=update.expected_job_id)

    def resume_unfinished(self) -> int:
        with self.uow() as tx:
            unfinished = tx.ota_updates.with_status([OtaStatus.CREATE_PENDING, OtaStatus.CREATE_IN_PROGRESS])
        for ota_update_id in unfinished:
            self.process(ota_update_id)
        return len(unfinished)

    def _resolve(self, index: int, file: OtaFile) -> ResolvedFile:
        where = f"files[{index}]"
        problem = signing_problem(file.signing)
        if problem is not None:
            raise OtaFailure("InvalidRequestException", f"{where}: {problem}")
        if file.stream is not None:
            return self._resolve_stream_file(where, file)
        assert file.s3 is not None
        location = file.s3
        try:
            version = self.objects.head_object(location.bucket, location.key, location.version, Conditions())
        except NotFound as exc:
            raise OtaFailure("ResourceNotFoundException", f"{where}: S3 object {location} is not accessible: "
                                                          f"{exc.message}") from exc
        assert version.blob is not None
        self._verify(where, file, version.blob.sha256, lambda: self.objects.read(version))
        resolved = ResolvedFile(file, index, version.blob.size, location)
        return resolved

    def _resolve_stream_file(self, where: str, file: OtaFile) -> ResolvedFile:
        assert file.stream is not None
        try:
            stream = self.streams.describe_stream(file.stream.stream_id)
        except NotFound as exc:
            raise OtaFailure("ResourceNotFoundException", f"{where}: stream {file.stream.stream_id} does not "
                                                          "exist") from exc
        found = stream.file(file.stream.file_id)
        if found is None:
            raise OtaFailure("ResourceNotFoundException",
                             f"{where}: stream {stream.stream_id} has no file {file.stream.file_id}")
        version = self.objects.head_object(found.location.bucket, found.location.key, found.version_id, Conditions())
        self._verify(where, file, found.sha256, lambda: self.objects.read(version))
        location = S3Location(found.location.bucket, found.location.key, found.version_id)
        return ResolvedFile(file, found.file_id, found.size, location)

    def _verify(self, where: str, file: OtaFile, sha256: str, read: Callable[[], Any]) -> None:
        custom = file.signing.custom
        if custom is None or not custom.certificate_pem or custom.signature is None:
            return
        assert custom.hash_algorithm is not None and custom.signature_algorithm is not None
        if custom.hash_algorithm == "SHA256":
            digest = bytes.fromhex(sha256)
        else:
            hasher = hashlib.sha1()
            for chunk in read():
                hasher.update(chunk)
            digest = hasher.digest()
        problem = signature_problem(custom.certificate_pem, custom.signature, custom.hash_algorithm,
                                    custom.signature_algorithm, digest)
        if problem is not None:
            raise OtaFailure("InvalidRequestException", f"{where}: {problem}")

    def _check_targets(self, targets: Sequence[str]) -> None:
        """The job's own target checks, as a reason to fail the update rather than the request."""
        try:
            self.jobs.check_targets(targets)
        except DomainError as exc:
            raise OtaFailure(_error_code(exc), f"targets: {exc.message}") from exc

    def _stream_for(self, update: OtaUpdate, resolved: Sequence[ResolvedFile]) -> tuple[str | None, dict[int, str]]:
        """The stream devices fetch over MQTT: one the files name, or one made for them (AFR_OTA-<uuid>)."""
        versions = {r.file_id: r.location.version or "" for r in resolved}
        given = {f.stream.stream_id for f in update.files if f.stream is not None}
        if "MQTT" not in update.protocols:
            return (given.pop() if len(given) == 1 else None), versions
        if given:
            if len(given) > 1 or any(f.stream is None for f in update.files):
                raise OtaFailure("InvalidRequestException", "files: all files of an MQTT update must come from one "
                                                            "stream, or all from S3")
            return given.pop(), versions
        stream_id = update.stream_id or self._set(update.ota_update_id, stream_id=JOB_PREFIX + new_uuid(),
                                                  stream_created=True).stream_id
        assert stream_id is not None
        requests = [FileRequest(r.file_id, r.location) for r in resolved]
        try:
            stream = self.streams.describe_stream(stream_id)
        except NotFound:
            stream = self.streams.create_stream(stream_id, f"OTA update {update.ota_update_id}", requests,
                                                update.role_arn, {})
        return stream_id, {f.file_id: f.version_id for f in stream.files}

    def _make_job(self, update: OtaUpdate, document: str) -> None:
        with self.uow() as tx:
            if tx.jobs.get(update.expected_job_id) is not None:
                return  # made before a crash
        try:
            self.jobs.create_job(JobRequest(
                job_id=update.expected_job_id, targets=update.targets, document=document,
                description=update.description, target_selection=update.target_selection, config=update.config,
            ))
        except DomainError as exc:
            raise OtaFailure(_error_code(exc), f"the job {update.expected_job_id} could not be created: "
                                               f"{exc.message}") from exc

    def _set(self, ota_update_id: str, **changes: Any) -> OtaUpdate:
        with self.uow(write=True) as tx:
            updated = replace(_ota(tx, ota_update_id), updated_at=self.clock.now(), **changes)
            tx.ota_updates.save(updated)
            return updated

    # --- read and delete ------------------------------------------------------------------------

    def get(self, ota_update_id: str) -> OtaUpdate:
        with self.uow() as tx:
            return _ota(tx, ota_update_id)

    def list(self, status: str | None, token: str | None, max_results: int | None) -> Page[OtaUpdate]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.ota_updates.page(status, after, n), token, max_results, "ota", status)

    def delete(self, ota_update_id: str, delete_stream: bool, force_delete_job: bool) -> None:
        update = self.get(ota_update_id)
        if update.job_id is not None:
            with self.uow() as tx:
                job = tx.jobs.get(update.job_id)
            if job is not None:
                if job.status.active and not force_delete_job:
                    raise InvalidState(
                        f"OTA update {ota_update_id}: its job {job.job_id} is {job.status.value}; "
                        "pass forceDeleteAWSJob=true to delete it with the update")
                self.jobs.delete_job(job.job_id, force=True)
        if delete_stream and update.stream_created and update.stream_id is not None:
            with contextlib.suppress(NotFound):
                self.streams.delete_stream(update.stream_id)
        with self.uow(write=True) as tx:
            tx.ota_updates.delete(ota_update_id)
            tx.tags.drop(self.arns.ota_update(ota_update_id))


def _error_code(error: DomainError) -> str:
    """errorInfo's code in AWS's spelling for the kinds of failure a pipeline meets."""
    return "ResourceNotFoundException" if isinstance(error, NotFound) else "InvalidRequestException"


def _ota(tx: UnitOfWork, ota_update_id: str) -> OtaUpdate:
    update = tx.ota_updates.get(ota_update_id)
    if update is None:
        raise NotFound("OTA update", ota_update_id)
    return update
