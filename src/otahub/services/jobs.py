"""Use cases of IoT jobs: the control plane (jobs, executions, templates) and the device side
(pending executions, start next, update, describe). Rules that move jobs live in rollout.EngineRules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from otahub.domain.clock import Clock
from otahub.domain.documents import ObjectRef, parse_s3_url, presigned_objects, substitute_parameters
from otahub.domain.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidStateTransition,
    NotFound,
)
from otahub.domain.executions import (
    Execution,
    ExecutionStatus,
    canceled,
    check_deletable,
    rejoined,
    removed,
)
from otahub.domain.ids import Arns
from otahub.domain.jobs import (
    MAX_TARGETS,
    Job,
    JobConfig,
    Target,
    check_config,
    check_schedule,
    initial_status,
    needs_cancel,
)
from otahub.domain.objects import Conditions, ObjectVersion
from otahub.services.pagination import Page, paginate
from otahub.services.ports import JobFilter, JobTemplate, UnitOfWork, UnitOfWorkFactory
from otahub.services.rollout import EngineRules
from otahub.services.tags import check_tags

MAX_DOCUMENT_BYTES = 32768


class ObjectReader(Protocol):
    """What jobs need of the object store (ObjectStore implements it): job documents by S3 location."""

    def head_object(self, bucket: str, key: str, version_id: str | None, conditions: Conditions) -> ObjectVersion:
        ...

    def read(self, version: ObjectVersion, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...


def read_document(objects: ObjectReader, ref: ObjectRef, field: str) -> str:
    """A job document's text from the object store; a missing, oversized or non-UTF-8 object is refused."""
    try:
        version = objects.head_object(ref.bucket, ref.key, ref.version, Conditions())
    except NotFound as exc:
        raise InvalidInput(f"{field}: s3://{ref.bucket}/{ref.key} cannot be read: {exc.message}", field=field) from exc
    if version.size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"{field}: the job document is {version.size} bytes, more than {MAX_DOCUMENT_BYTES}",
                           field=field)
    try:
        return b"".join(objects.read(version)).decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{field}: the job document is not UTF-8 text", field=field) from exc


@dataclass(frozen=True, slots=True)
class JobRequest:
    job_id: str
    targets: Sequence[str]
    document: str | None = None
    document_source: str | None = None
    description: str | None = None
    target_selection: str | None = None
    config: JobConfig = field(default_factory=JobConfig)
    tags: Mapping[str, str] = field(default_factory=dict)
    template_arn: str | None = None
    namespace_id: str | None = None
    document_parameters: Mapping[str, str] | None = None
    destination_package_versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TemplateRequest:
    template_id: str
    description: str
    job_arn: str | None = None
    document: str | None = None
    document_source: str | None = None
    config: JobConfig = field(default_factory=JobConfig)
    tags: Mapping[str, str] = field(default_factory=dict)
    destination_package_versions: tuple[str, ...] = ()


class JobService:
    def __init__(self, uow: UnitOfWorkFactory, objects: ObjectReader, clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.objects = objects
        self.clock = clock
        self.arns = arns
        self.rules = EngineRules()

    # --- jobs ----------------------------------------------------------------------------------

    def create_job(self, request: JobRequest) -> Job:
        job = self.prepare_job(request)
        with self.uow(write=True) as tx:
            return self.add_job(tx, job, request.tags)

    def prepare_job(self, request: JobRequest) -> Job:
        """The job a request makes, checked (all but its targets' existence); nothing is stored."""
        check_tags(dict(request.tags))
        now = self.clock.now()
        with self.uow() as tx:
            template = self._template_from_arn(tx, request.template_arn)
        config = _merged(request.config, template.config) if template else request.config
        check_config(config)
        if config.scheduling is not None:
            check_schedule(config.scheduling, now)
        before = self._document(request, template)
        document = self._substituted(before, request, template)
        targets = self._targets(request.targets)
        return Job(
            job_id=request.job_id, targets=targets, target_selection=request.target_selection or "SNAPSHOT",
            document=document, document_source=request.document_source, description=request.description,
            config=config, status=initial_status(config.scheduling, now), created_at=now, updated_at=now,
            template_arn=request.template_arn, namespace_id=request.namespace_id,
            document_parameters=request.document_parameters,
            destination_package_versions=request.destination_package_versions,
            document_before_substitution=before if before != document else None,
        )

    def add_job(self, tx: UnitOfWork, job: Job, tags: Mapping[str, str]) -> Job:
        """Store a prepared job in ``tx`` (its targets must exist by now) and dispatch what its rules allow."""
        if tx.jobs.get(job.job_id) is not None:
            raise AlreadyExists("Job", job.job_id, job.job_id, self.arns.job(job.job_id))
        _check_targets_exist(tx, job.targets)
        tx.jobs.add(job)
        tx.tags.put(self.arns.job(job.job_id), dict(tags))
        tx.jobs.add_pending(job.job_id, job.targets)
        return self.rules.advance_job(tx, job, job.created_at)

    def _document(self, request: JobRequest, template: JobTemplate | None) -> str:
        given = [x for x in (request.document, request.document_source) if x is not None]
        if len(given) > 1:
            raise InvalidInput("Give either document or documentSource, not both", field="document")
        if request.document is not None:
            document = request.document
        elif request.document_source is not None:
            document = read_document(self.objects, parse_s3_url(request.document_source, field="documentSource"),
                                     "documentSource")
        elif template is not None and template.document is not None:
            document = template.document
        elif template is not None and template.document_source is not None:
            document = read_document(self.objects, parse_s3_url(template.document_source, field="documentSource"),
                                     "documentSource")
        else:
            raise InvalidInput("A job needs a document or a documentSource", field="document")
        return document

    def _substituted(self, document: str, request: JobRequest, template: JobTemplate | None) -> str:
        if request.document_parameters is not None or template is not None:
            document = substitute_parameters(document, request.document_parameters or {})
        presigned_objects(document)  # malformed placeholders are refused now, not at delivery
        return document

    def _targets(self, arns: Sequence[str]) -> tuple[Target, ...]:
        if not 1 <= len(arns) <= MAX_TARGETS:
            raise InvalidInput(f"A job has 1 to {MAX_TARGETS} targets, not {len(arns)}", field="targets")
        targets = []
        for arn in arns:
            parsed = self.arns.parse_iot(arn)
            if parsed is None or parsed[0] not in ("thing", "thinggroup"):
                raise InvalidInput(f"targets: {arn} is not a thing or thing group ARN of this account",
                                   field="targets")
            targets.append(Target(parsed[0], parsed[1], arn))
        return tuple(dict.fromkeys(targets))

    def check_targets(self, arns: Sequence[str]) -> tuple[Target, ...]:
        """The targets of a job-to-be: thing or thing-group ARNs of this account that exist."""
        targets = self._targets(arns)
        with self.uow() as tx:
            _check_targets_exist(tx, targets)
        return targets

    def _template_from_arn(self, tx: UnitOfWork, arn: str | None) -> JobTemplate | None:
        if arn is None:
            return None
        parsed = self.arns.parse_iot(arn)
        if parsed is None or parsed[0] != "jobtemplate":
            raise InvalidInput(f"jobTemplateArn: {arn} is not a job template ARN of this account",
                               field="jobTemplateArn")
        template = tx.job_templates.get(parsed[1])
        if template is None:
            raise NotFound("Job template", parsed[1])
        return template

    def describe_job(self, job_id: str) -> tuple[Job, dict[ExecutionStatus, int]]:
        with self.uow() as tx:
            job = find_job(tx, job_id)
            counts = tx.jobs.counts(job_id)
            return job, {status: counts.of(status) for status in ExecutionStatus}

    def list_jobs(self, where: JobFilter, token: str | None, max_results: int | None) -> Page[Job]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.jobs.page(where, after, n), token, max_results, "jobs", where)

    def update_job(self, job_id: str, update: JobConfig, description: str | None, parts: frozenset[str]) -> Job:
        """Replace the configuration parts named in ``parts`` by those of ``update``."""
        with self.uow(write=True) as tx:
            return self.update_job_in(tx, job_id, update, description, parts)

    def update_job_in(self, tx: UnitOfWork, job_id: str, update: JobConfig, description: str | None,
                      parts: frozenset[str]) -> Job:
        now = self.clock.now()
        job = find_job(tx, job_id)
        config = replace(job.config, **{part: getattr(update, part) for part in parts})
        check_config(config)
        updated = replace(job, config=config, updated_at=now,
                          description=job.description if description is None else description)
        tx.jobs.save(updated)
        return self.rules.advance_job(tx, updated, now) if updated.status.active else updated

    def cancel_job(self, job_id: str, reason_code: str | None, comment: str | None, force: bool) -> Job:
        now = self.clock.now()
        with self.uow(write=True) as tx:
            job = find_job(tx, job_id)
            if not needs_cancel(job, force):
                return job
            return self.rules.cancel(tx, job, force=force, reason_code=reason_code, comment=comment, now=now)

    def delete_job(self, job_id: str, force: bool) -> None:
        with self.uow(write=True) as tx:
            self.delete_job_in(tx, job_id, force)

    def delete_job_in(self, tx: UnitOfWork, job_id: str, force: bool) -> None:
        job = find_job(tx, job_id)
        if job.status.active and not force:
            raise InvalidStateTransition(
                f"Job {job_id} is {job.status.value}; deleting it needs force=true", status=job.status.value)
        tx.jobs.delete(job_id, self.clock.now())
        tx.tags.drop(self.arns.job(job_id))

    def associate_targets(self, job_id: str, arns: Sequence[str], comment: str | None) -> Job:
        now = self.clock.now()
        new_targets = self._targets(arns)
        with self.uow(write=True) as tx:
            job = find_job(tx, job_id)
            if not job.continuous:
                raise InvalidInput(f"Job {job_id} is a SNAPSHOT job; only CONTINUOUS jobs take new targets",
                                   field="jobId")
            if not job.status.active:
                raise InvalidInput(f"Job {job_id} is {job.status.value}; targets can be added only while it runs",
                                   field="jobId")
            _check_targets_exist(tx, new_targets)
            added = tuple(t for t in new_targets if t not in job.targets)
            if len(job.targets) + len(added) > MAX_TARGETS:
                raise InvalidInput(f"A job has at most {MAX_TARGETS} targets", field="targets")
            updated = replace(job, targets=job.targets + added, updated_at=now,
                              comment=comment if comment is not None else job.comment)
            tx.jobs.save(updated)
            tx.jobs.add_pending(job_id, added)
            return self.rules.advance_job(tx, updated, now)

    def job_document(self, job_id: str, before_substitution: bool = False) -> str:
        """The document as stored; ``before_substitution``: as the template had it, parameters unfilled."""
        with self.uow() as tx:
            job = find_job(tx, job_id)
        return (job.document_before_substitution or job.document) if before_substitution else job.document

    # --- continuous jobs follow group membership ------------------------------------------------

    def thing_joined(self, tx: UnitOfWork, thing: str, groups: Sequence[str]) -> None:
        """A thing joined groups (each with its ancestors): continuous jobs targeting them queue it; a
        thing that comes back after being REMOVED gets a fresh execution (its retries start again)."""
        now = self.clock.now()
        for job in tx.jobs.continuous_targeting(groups, thing):
            latest = tx.jobs.execution(job.job_id, thing)
            if latest is not None and latest.status == ExecutionStatus.REMOVED:
                tx.jobs.supersede(latest, rejoined(latest, now))
                self.rules.advance_job(tx, job, now)
            elif tx.jobs.add_pending(job.job_id, [Target("thing", thing, self.arns.thing(thing))]):
                self.rules.advance_job(tx, job, now)

    def thing_left(self, tx: UnitOfWork, thing: str, groups: Sequence[str]) -> None:
        """A thing left groups: continuous jobs that no longer target it forget it if not yet notified
        and mark a QUEUED execution REMOVED (one IN_PROGRESS runs on)."""
        now = self.clock.now()
        for job in tx.jobs.continuous_targeting(groups, thing):
            if tx.jobs.covers(job.job_id, thing):
                continue
            tx.jobs.drop_pending(job.job_id, thing)
            latest = tx.jobs.execution(job.job_id, thing)
            if latest is not None and latest.status == ExecutionStatus.QUEUED:
                self.rules.changed(tx, job, latest, removed(latest, now), now)

    def thing_deleted(self, tx: UnitOfWork, thing: str) -> None:
        """A thing was deleted: jobs forget it if not yet notified, and its QUEUED executions are REMOVED
        (an IN_PROGRESS one runs on to its timeout, as nothing can report it any more)."""
        now = self.clock.now()
        tx.jobs.forget_thing(thing)
        for latest in tx.jobs.pending_for_thing(thing):
            if latest.status == ExecutionStatus.QUEUED:
                self.rules.changed(tx, find_job(tx, latest.job_id), latest, removed(latest, now), now)

    # --- executions (control plane) -------------------------------------------------------------

    def describe_execution(self, job_id: str, thing: str, number: int | None) -> Execution:
        with self.uow() as tx:
            return find_execution(tx, job_id, thing, number)

    def executions_for_job(
        self, job_id: str, status: str | None, token: str | None, max_results: int | None
    ) -> Page[Execution]:
        with self.uow() as tx:
            find_job(tx, job_id)
            return paginate(lambda after, n: tx.jobs.executions_for_job(job_id, status, after, n),
                            token, max_results, "executions-of-job", job_id, status)

    def executions_for_thing(
        self, thing: str, status: str | None, job_id: str | None, token: str | None, max_results: int | None
    ) -> Page[Execution]:
        with self.uow() as tx:
            require_thing(tx, thing)
            return paginate(lambda after, n: tx.jobs.executions_for_thing(thing, status, job_id, after, n),
                            token, max_results, "executions-of-thing", thing, status, job_id)

    def cancel_execution(
        self, job_id: str, thing: str, force: bool, expected_version: int | None, details: Mapping[str, str] | None
    ) -> None:
        now = self.clock.now()
        with self.uow(write=True) as tx:
            job = find_job(tx, job_id)
            execution = find_execution(tx, job_id, thing, None)
            after = canceled(execution, force=force, details=details, now=now, expected_version=expected_version)
            self.rules.changed(tx, job, execution, after, now)

    def delete_execution(self, job_id: str, thing: str, number: int, force: bool) -> None:
        now = self.clock.now()
        with self.uow(write=True) as tx:
            job = find_job(tx, job_id)
            execution = find_execution(tx, job_id, thing, number)
            check_deletable(execution, force)
            latest = tx.jobs.execution(job_id, thing)
            tx.jobs.delete_execution(execution, latest is not None and latest.execution_number == number, now)
            if job.status.active:
                self.rules.advance_job(tx, job, now)

    # --- templates ------------------------------------------------------------------------------

    def create_template(self, request: TemplateRequest) -> JobTemplate:
        check_tags(dict(request.tags))
        check_config(request.config)
        now = self.clock.now()
        with self.uow(write=True) as tx:
            if tx.job_templates.get(request.template_id) is not None:
                raise AlreadyExists("Job template", request.template_id, request.template_id,
                                    self.arns.job_template(request.template_id))
            document, source, config = request.document, request.document_source, request.config
            if request.job_arn is not None:
                parsed = self.arns.parse_iot(request.job_arn)
                job = tx.jobs.get(parsed[1]) if parsed and parsed[0] == "job" else None
                if job is None:
                    raise NotFound("Job", request.job_arn)
                document, source, config = job.document, job.document_source, _merged(config, job.config)
            elif (document is None) == (source is None):
                raise InvalidInput("A job template needs exactly one of jobArn, document and documentSource",
                                   field="document")
            if source is not None and document is None:
                parse_s3_url(source, field="documentSource")
            template = JobTemplate(request.template_id, request.description, document, source, config, now,
                                   request.destination_package_versions)
            tx.job_templates.add(template)
            tx.tags.put(self.arns.job_template(request.template_id), dict(request.tags))
            return template

    def describe_template(self, template_id: str) -> JobTemplate:
        with self.uow() as tx:
            template = tx.job_templates.get(template_id)
            if template is None:
                raise NotFound("Job template", template_id)
            return template

    def list_templates(self, token: str | None, max_results: int | None) -> Page[JobTemplate]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.job_templates.page(after, n), token, max_results, "templates")

    def delete_template(self, template_id: str) -> None:
        with self.uow(write=True) as tx:
            if tx.job_templates.get(template_id) is None:
                raise NotFound("Job template", template_id)
            tx.job_templates.delete(template_id)
            tx.tags.drop(self.arns.job_template(template_id))


def _merged(given: JobConfig, base: JobConfig) -> JobConfig:
    """The request's configuration, with the template's (or job's) parts where the request has none."""
    return JobConfig(
        presigned_url=given.presigned_url or base.presigned_url,
        rollout=given.rollout or base.rollout,
        abort=given.abort or base.abort,
        in_progress_timeout_minutes=given.in_progress_timeout_minutes or base.in_progress_timeout_minutes,
        retry=given.retry or base.retry,
        scheduling=given.scheduling or base.scheduling,
    )


def _check_targets_exist(tx: UnitOfWork, targets: Sequence[Target]) -> None:
    for target in targets:
        found = tx.things.get(target.name) if target.kind == "thing" else tx.thing_groups.get(target.name)
        if found is None:
            raise NotFound("Thing" if target.kind == "thing" else "Thing group", target.name)


def find_job(tx: UnitOfWork, job_id: str) -> Job:
    job = tx.jobs.get(job_id)
    if job is None:
        raise NotFound("Job", job_id)
    return job


def require_thing(tx: UnitOfWork, name: str) -> None:
    if tx.things.get(name) is None:
        raise NotFound("Thing", name)


def find_execution(tx: UnitOfWork, job_id: str, thing: str, number: int | None) -> Execution:
    execution = tx.jobs.execution(job_id, thing, number)
    if execution is None:
        what = f"{job_id} on {thing}" + (f" (execution {number})" if number is not None else "")
        raise NotFound("Job execution", what)
    return execution
