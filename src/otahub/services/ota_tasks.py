"""Use cases of managed-integrations OTA tasks and task configurations, on the jobs engine.

An OTA task is a face of one job (job id = task id), made through JobService in the same transaction
as the task's row and, for an OtaTargetQueryString, the dynamic thing group that follows it. Status,
TaskProcessingDetails and the task's executions are read from that job; the rollout engine moves it
as it moves every job, so no rollout, abort, timeout, retry or schedule rule is written twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from otahub.domain.clock import Clock
from otahub.domain.documents import parse_s3_url, presigned_objects
from otahub.domain.errors import Conflict, InvalidInput, NotFound
from otahub.domain.executions import Execution
from otahub.domain.ids import Arns, new_hex_id
from otahub.domain.jobs import MAX_TARGETS, Counts, Job, JobConfig, JobStatus, RetryCriterion
from otahub.domain.managed import (
    OtaSchedule,
    OtaTask,
    OtaType,
    TaskConfiguration,
    checked_job_config,
    replayed,
    request_hash,
    target_query,
    task_group_name,
    task_job_config,
)
from otahub.domain.things import GroupQuery
from otahub.services.jobs import JobRequest, JobService, ObjectReader, read_document
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory
from otahub.services.tags import check_tags
from otahub.services.things import ThingRegistry

PUSH_PARTS = frozenset({"rollout", "abort", "in_progress_timeout_minutes"})  # what a task configuration sets


@dataclass(frozen=True, slots=True)
class TaskConfigurationRequest:
    name: str | None = None
    description: str | None = None
    push: JobConfig = field(default_factory=JobConfig)
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class OtaTaskRequest:
    s3_url: str
    ota_type: OtaType
    protocol: str = "HTTP"
    mechanism: str = "PUSH"
    targets: tuple[str, ...] = ()
    query_string: str | None = None
    task_configuration_id: str | None = None
    description: str | None = None
    schedule: OtaSchedule | None = None
    retry: tuple[RetryCriterion, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as its job has it now."""

    task: OtaTask
    status: JobStatus
    counts: Counts
    last_updated_at: datetime
    tags: Mapping[str, str] = field(default_factory=dict)


class OtaTaskService:
    def __init__(self, uow: UnitOfWorkFactory, jobs: JobService, registry: ThingRegistry, objects: ObjectReader,
                 clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.jobs = jobs
        self.registry = registry
        self.objects = objects
        self.clock = clock
        self.arns = arns

    # --- task configurations ------------------------------------------------------------------

    def create_configuration(self, request: TaskConfigurationRequest) -> TaskConfiguration:
        checked_job_config(request.push, self.clock.now())
        fingerprint = request_hash(replace(request, client_token=None))
        with self.uow(write=True) as tx:
            if request.client_token is not None:
                found = replayed(tx.ota_task_configurations.by_token(request.client_token), fingerprint,
                                 "CreateOtaTaskConfiguration")
                if found is not None:
                    return found
            configuration = TaskConfiguration(new_hex_id(), request.name, request.description, request.push,
                                              self.clock.now(), request.client_token, fingerprint)
            tx.ota_task_configurations.add(configuration)
            return configuration

    def get_configuration(self, configuration_id: str) -> TaskConfiguration:
        with self.uow() as tx:
            return _configuration(tx, configuration_id)

    def list_configurations(self, token: str | None, max_results: int | None) -> Page[TaskConfiguration]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.ota_task_configurations.page(after, n), token, max_results,
                            "ota-task-configurations")

    def delete_configuration(self, configuration_id: str) -> None:
        with self.uow(write=True) as tx:
            _configuration(tx, configuration_id)
            live = tx.ota_tasks.live_using(configuration_id)
            if live:
                raise Conflict(f"OTA task configuration {configuration_id} is used by the OTA task(s) "
                               f"{', '.join(live)}, still scheduled or in progress")
            tx.ota_task_configurations.delete(configuration_id)

    # --- tasks -----------------------------------------------------------------------------------

    def create(self, request: OtaTaskRequest) -> OtaTask:
        """The task, its job and (for an OtaTargetQueryString) its dynamic group, in one transaction."""
        check_tags(dict(request.tags))
        fingerprint = request_hash(replace(request, client_token=None))
        with self.uow() as tx:
            found = self._replay(tx, request, fingerprint)
        if found is not None:
            return found
        task, job, query = self._prepare(request, fingerprint)
        with self.uow(write=True) as tx:
            found = self._replay(tx, request, fingerprint)  # a concurrent replay may have won the race
            if found is not None:
                return found
            if task.group_name is not None and query is not None:
                self.registry.dynamic.create_in(tx, task.group_name, query, f"Targets of OTA task {task.task_id}",
                                                None, {})
            self.jobs.add_job(tx, job, {})
            tx.ota_tasks.add(task)
            tx.tags.put(self.arns.ota_task(task.task_id), dict(request.tags))
        return task

    def _replay(self, tx: UnitOfWork, request: OtaTaskRequest, fingerprint: str) -> OtaTask | None:
        if request.client_token is None:
            return None
        return replayed(tx.ota_tasks.by_token(request.client_token), fingerprint, "CreateOtaTask")

    def _prepare(self, request: OtaTaskRequest, fingerprint: str) -> tuple[OtaTask, Job, GroupQuery | None]:
        """The task and its job, checked, and the query of its group; nothing stored."""
        targets = len(request.targets) + (request.query_string is not None)
        if not 1 <= targets <= MAX_TARGETS:
            raise InvalidInput(f"An OTA task needs Target (up to {MAX_TARGETS} managed things, {MAX_TARGETS - 1} with "
                               f"an OtaTargetQueryString) or an OtaTargetQueryString; this one has {targets} targets",
                               field="Target")
        now = self.clock.now()
        with self.uow() as tx:
            push = _configuration(tx, request.task_configuration_id).push if request.task_configuration_id else None
            things = self._target_things(tx, request.targets)
        config = task_job_config(push, request.retry, request.schedule, now)
        query = GroupQuery.of(target_query(request.query_string)) if request.query_string is not None else None
        task_id = new_hex_id()
        group = task_group_name(task_id) if query is not None else None
        job = self.jobs.prepare_job(JobRequest(
            job_id=task_id, document=self._document(request.s3_url), description=request.description,
            targets=[self.arns.thing(name) for name in things] + ([self.arns.thing_group(group)] if group else []),
            target_selection=request.ota_type.target_selection, config=config,
        ))
        task = OtaTask(task_id, task_id, request.s3_url, request.ota_type, request.protocol, request.mechanism,
                       request.targets, request.query_string, group, request.task_configuration_id,
                       request.description, request.schedule, request.retry, now, now, request.client_token,
                       fingerprint)
        return task, job, query

    def _target_things(self, tx: UnitOfWork, targets: tuple[str, ...]) -> list[str]:
        """The managed things named by id or ARN, each of which must exist."""
        names = []
        for target in targets:
            name = target
            if target.startswith("arn:"):
                parsed = self.arns.parse_managed(target)
                if parsed is None or parsed[0] != "managed-thing":
                    raise InvalidInput(f"Target: {target} is not a managed-thing ARN of this account", field="Target")
                name = parsed[1]
            if tx.managed_things.get(name) is None:
                raise NotFound("Managed thing", name)
            names.append(name)
        return list(dict.fromkeys(names))

    def _document(self, s3_url: str) -> str:
        """The job document: the S3Url object's text, its presigned-URL placeholders checked now."""
        document = read_document(self.objects, parse_s3_url(s3_url, field="S3Url"), "S3Url")
        try:
            presigned_objects(document)
        except InvalidInput as error:
            raise InvalidInput(f"S3Url: the job document has a malformed placeholder: {error.message}",
                               field="S3Url") from error
        return document

    def get(self, task_id: str) -> TaskView:
        with self.uow() as tx:
            return self._view(tx, _task(tx, task_id), with_tags=True)

    def _view(self, tx: UnitOfWork, task: OtaTask, with_tags: bool = False) -> TaskView:
        job: Job | None = tx.jobs.get(task.job_id)
        tags = tx.tags.get(self.arns.ota_task(task.task_id)) if with_tags else {}
        if job is None:  # its job was deleted (through the iot API, or a DeleteOtaTask cut short)
            return TaskView(task, JobStatus.DELETION_IN_PROGRESS, Counts(), task.updated_at, tags)
        return TaskView(task, job.status, tx.jobs.counts(task.job_id), max(task.updated_at, job.updated_at), tags)

    def list(self, token: str | None, max_results: int | None) -> Page[TaskView]:
        with self.uow() as tx:
            return paginate(lambda after, n: [(seq, self._view(tx, task)) for seq, task in tx.ota_tasks.page(after, n)],
                            token, max_results, "ota-tasks")

    def update(self, task_id: str, description: str | None, configuration_id: str | None) -> OtaTask:
        """A new description, or a new task configuration, whose PushConfig the job takes from now on (it
        acts on executions not yet created, on timeouts of executions not yet started, and on the abort check)."""
        now = self.clock.now()
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            push = _configuration(tx, configuration_id).push if configuration_id is not None else JobConfig()
            updated = replace(task, updated_at=now, description=description or task.description,
                              task_configuration_id=configuration_id or task.task_configuration_id)
            if tx.jobs.get(task.job_id) is not None:
                parts = PUSH_PARTS if configuration_id is not None else frozenset()
                self.jobs.update_job_in(tx, task.job_id, push, description, parts)
            tx.ota_tasks.save(updated)
            return updated

    def delete(self, task_id: str) -> None:
        """The task, its job (with any executions still queued or in progress) and its group go together."""
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            if tx.jobs.get(task.job_id) is not None:
                self.jobs.delete_job_in(tx, task.job_id, force=True)
            if task.group_name is not None:
                self.registry.dynamic.delete_in(tx, task.group_name, None)
            tx.ota_tasks.delete(task_id)
            tx.tags.drop(self.arns.ota_task(task_id))

    def executions(self, task_id: str, token: str | None, max_results: int | None) -> Page[Execution]:
        """The latest execution of each managed thing the task reached (the thing name is the managed thing id)."""
        with self.uow() as tx:
            task = _task(tx, task_id)
            if tx.jobs.get(task.job_id) is None:
                return Page([], None)
        return self.jobs.executions_for_job(task.job_id, None, token, max_results)


def _configuration(tx: UnitOfWork, configuration_id: str) -> TaskConfiguration:
    configuration = tx.ota_task_configurations.get(configuration_id)
    if configuration is None:
        raise NotFound("OTA task configuration", configuration_id)
    return configuration


def _task(tx: UnitOfWork, task_id: str) -> OtaTask:
    task = tx.ota_tasks.get(task_id)
    if task is None:
        raise NotFound("OTA task", task_id)
    return task
