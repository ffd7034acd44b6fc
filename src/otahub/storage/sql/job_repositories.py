"""Jobs, their pending things and executions, and job templates over SQLAlchemy Core.

Bulk work (a snapshot of 100,000 things, a rollout minute, a cancel) is done in single INSERT ... SELECT
or UPDATE statements, so no per-thing Python objects are built. Each job row keeps counts of its
things' latest executions by status; every statement that moves executions adjusts them in the same
transaction, so DescribeJob and the abort rules read counts without scanning history.

Every statement that moves executions into or out of a thing's pending set (QUEUED, IN_PROGRESS), or
changes their status, notes the things in ``device_notices`` in the same transaction (one INSERT ...
SELECT for the bulk ones): the outbox the device gateway drains to push notify and notify-next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from otahub.domain.executions import Execution, ExecutionStatus
from otahub.domain.jobs import (
    AbortCriterion,
    Counts,
    ExponentialRate,
    Job,
    JobConfig,
    JobStatus,
    PresignedUrlConfig,
    RetryCriterion,
    RolloutConfig,
    SchedulingConfig,
    Target,
    WindowSpec,
)
from otahub.services.ports import JobFilter, JobTemplate
from otahub.storage.sql.tables import (
    device_notices,
    job_executions,
    job_pending,
    job_targets,
    job_templates,
    jobs,
    thing_group_members,
    thing_groups,
    things,
)

COUNT_COLUMN = {status: f"n_{status.value.lower()}" for status in ExecutionStatus}
_JOB_BY_ID = select(jobs).where(jobs.c.job_id == bindparam("job_id"))
_SEQ_BY_ID = select(jobs.c.seq).where(jobs.c.job_id == bindparam("job_id"))
_COUNTS_BY_ID = select(*(jobs.c[c] for c in COUNT_COLUMN.values()), jobs.c.n_pending).where(
    jobs.c.job_id == bindparam("job_id"))  # not the document: counts are read several times a change
_ACTIVE = (JobStatus.SCHEDULED.value, JobStatus.IN_PROGRESS.value)
_PENDING_STATUSES = (ExecutionStatus.QUEUED.value, ExecutionStatus.IN_PROGRESS.value)


# --- configuration <-> JSON ----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def config_to_json(config: JobConfig) -> dict[str, Any]:
    rollout = config.rollout
    scheduling = config.scheduling
    return {
        "presigned_url": None if config.presigned_url is None else {
            "role_arn": config.presigned_url.role_arn, "expires_in_sec": config.presigned_url.expires_in_sec},
        "rollout": None if rollout is None else {
            "maximum_per_minute": rollout.maximum_per_minute,
            "exponential": None if rollout.exponential is None else {
                "base": rollout.exponential.base_rate_per_minute, "factor": rollout.exponential.increment_factor,
                "notified": rollout.exponential.notified_step, "succeeded": rollout.exponential.succeeded_step},
        },
        "abort": [{"type": c.failure_type, "threshold": c.threshold_percentage, "min": c.min_executed,
                   "action": c.action} for c in config.abort],
        "timeout": config.in_progress_timeout_minutes,
        "retry": [{"type": c.failure_type, "n": c.number_of_retries} for c in config.retry],
        "scheduling": None if scheduling is None else {
            "start_time": scheduling.start_time, "end_time": scheduling.end_time,
            "end_behavior": scheduling.end_behavior,
            "windows": [{"cron": w.cron, "minutes": w.duration_minutes} for w in scheduling.windows],
            "starts_at": _iso(scheduling.starts_at), "ends_at": _iso(scheduling.ends_at),
        },
    }


def config_from_json(data: Mapping[str, Any]) -> JobConfig:
    presigned, rollout, scheduling = data.get("presigned_url"), data.get("rollout"), data.get("scheduling")
    exponential = rollout.get("exponential") if rollout else None
    return JobConfig(
        presigned_url=None if presigned is None else PresignedUrlConfig(presigned["role_arn"],
                                                                        presigned["expires_in_sec"]),
        rollout=None if rollout is None else RolloutConfig(
            rollout["maximum_per_minute"],
            None if exponential is None else ExponentialRate(
                exponential["base"], exponential["factor"], exponential["notified"], exponential["succeeded"]),
        ),
        abort=tuple(AbortCriterion(c["type"], c["threshold"], c["min"], c["action"]) for c in data.get("abort", [])),
        in_progress_timeout_minutes=data.get("timeout"),
        retry=tuple(RetryCriterion(c["type"], c["n"]) for c in data.get("retry", [])),
        scheduling=None if scheduling is None else SchedulingConfig(
            scheduling["start_time"], scheduling["end_time"], scheduling["end_behavior"],
            tuple(WindowSpec(w["cron"], w["minutes"]) for w in scheduling["windows"]),
            _dt(scheduling["starts_at"]), _dt(scheduling["ends_at"]),
        ),
    )


# --- jobs ----------------------------------------------------------------------------------------


def _job(row: Row[Any], targets: Sequence[Target]) -> Job:
    extra = row.extra
    return Job(
        job_id=row.job_id, targets=tuple(targets), target_selection=row.target_selection, document=row.document,
        document_source=row.document_source, description=row.description, config=config_from_json(row.config),
        status=JobStatus(row.status), created_at=row.created_at, updated_at=row.updated_at,
        completed_at=row.completed_at, force_canceled=row.force_canceled, reason_code=row.reason_code,
        comment=row.comment, template_arn=extra.get("template_arn"), namespace_id=extra.get("namespace_id"),
        document_parameters=extra.get("document_parameters"),
        document_before_substitution=extra.get("document_before_substitution"),
        destination_package_versions=tuple(extra.get("destination_package_versions", ())),
        notified=row.notified, bucket_start=row.bucket_start,
        bucket_count=row.bucket_count,
    )


def _job_values(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id, "status": job.status.value, "target_selection": job.target_selection,
        "document": job.document, "document_source": job.document_source, "description": job.description,
        "config": config_to_json(job.config),
        "extra": {"template_arn": job.template_arn, "namespace_id": job.namespace_id,
                  "document_parameters": dict(job.document_parameters) if job.document_parameters else None,
                  "document_before_substitution": job.document_before_substitution,
                  "destination_package_versions": list(job.destination_package_versions)},
        "force_canceled": job.force_canceled, "reason_code": job.reason_code, "comment": job.comment,
        "created_at": job.created_at, "updated_at": job.updated_at, "completed_at": job.completed_at,
        "notified": job.notified, "bucket_start": job.bucket_start,
        "bucket_count": job.bucket_count,
    }


def _counts(row: Row[Any]) -> Counts:
    return Counts({status: getattr(row, column) for status, column in COUNT_COLUMN.items()}, row.n_pending)


def _adjust(changes: Mapping[ExecutionStatus, int], pending: int = 0) -> dict[str, Any]:
    """UPDATE values that shift the job's counts by ``changes``."""
    values: dict[str, Any] = {COUNT_COLUMN[s]: jobs.c[COUNT_COLUMN[s]] + n for s, n in changes.items() if n}
    if pending:
        values["n_pending"] = jobs.c.n_pending + pending
    return values


# --- executions ----------------------------------------------------------------------------------


def _execution(row: Row[Any], job_id: str) -> Execution:
    return Execution(
        job_id=job_id, thing_name=row.thing_name, execution_number=row.execution_number,
        status=ExecutionStatus(row.status), queued_at=row.queued_at, last_updated_at=row.last_updated_at,
        version=row.version, status_details=dict(row.status_details), started_at=row.started_at,
        retry_attempt=row.retry_attempt, retry_counts=dict(row.retry_counts), force_canceled=row.force_canceled,
        in_progress_deadline=row.in_progress_deadline, step_deadline=row.step_deadline,
    )


def _execution_values(execution: Execution) -> dict[str, Any]:
    return {
        "thing_name": execution.thing_name, "execution_number": execution.execution_number,
        "status": execution.status.value, "status_details": dict(execution.status_details),
        "queued_at": execution.queued_at, "started_at": execution.started_at,
        "last_updated_at": execution.last_updated_at, "version": execution.version,
        "retry_attempt": execution.retry_attempt, "retry_counts": dict(execution.retry_counts),
        "force_canceled": execution.force_canceled, "in_progress_deadline": execution.in_progress_deadline,
        "step_deadline": execution.step_deadline, "timeout_at": execution.timeout_at,
    }


_EXECUTION_COLUMNS = [*job_executions.c, jobs.c.job_id]


class SqlJobs:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._seqs: dict[str, int] = {}  # job id -> row key, for this transaction (repositories live in one)

    # --- jobs --------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        row = self.conn.execute(_JOB_BY_ID, {"job_id": job_id}).first()
        return _job(row, self._targets([row.seq])[row.seq]) if row else None

    def counts(self, job_id: str) -> Counts:
        row: Row[Any] | None = self.conn.execute(_COUNTS_BY_ID, {"job_id": job_id}).first()  # type: ignore[assignment]
        return _counts(row) if row else Counts()

    def add(self, job: Job) -> None:
        zeros = {column: 0 for column in COUNT_COLUMN.values()}
        result = self.conn.execute(insert(jobs).values(**_job_values(job), **zeros, n_pending=0))
        key = result.inserted_primary_key
        assert key is not None
        self._add_targets(int(key[0]), 0, job.targets)

    def save(self, job: Job) -> None:
        seq = self._seq(job.job_id)
        self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(**_job_values(job)))
        known = len(self._targets([seq])[seq])
        self._add_targets(seq, known, job.targets[known:])

    def delete(self, job_id: str, now: datetime) -> None:
        seq = self._seq(job_id)
        self._note_latest(seq, _PENDING_STATUSES, now)  # a forced delete takes pending executions away
        for table in (job_executions, job_pending, job_targets):
            self.conn.execute(delete(table).where(table.c.job_seq == seq))
        self.conn.execute(delete(jobs).where(jobs.c.seq == seq))
        self._seqs.pop(job_id, None)

    def page(self, where: JobFilter, after: int, limit: int) -> list[tuple[int, Job]]:
        query = select(jobs).where(jobs.c.seq > after)
        if where.status:
            query = query.where(jobs.c.status == where.status)
        if where.target_selection:
            query = query.where(jobs.c.target_selection == where.target_selection)
        if where.thing_group_name:
            targeting = select(job_targets.c.job_seq).where(
                job_targets.c.kind == "thinggroup", job_targets.c.name == where.thing_group_name)
            query = query.where(jobs.c.seq.in_(targeting))
        if where.thing_group_id:
            named = select(thing_groups.c.name).where(thing_groups.c.group_id == where.thing_group_id)
            targeting = select(job_targets.c.job_seq).where(
                job_targets.c.kind == "thinggroup", job_targets.c.name.in_(named))
            query = query.where(jobs.c.seq.in_(targeting))
        if where.namespace_id:
            query = query.where(jobs.c.extra["namespace_id"].as_string() == where.namespace_id)
        rows = list(self.conn.execute(query.order_by(jobs.c.seq).limit(limit)))
        targets = self._targets([row.seq for row in rows])
        return [(row.seq, _job(row, targets[row.seq])) for row in rows]

    def active(self) -> list[tuple[Job, Counts]]:
        rows = list(self.conn.execute(select(jobs).where(jobs.c.status.in_(_ACTIVE)).order_by(jobs.c.seq)))
        targets = self._targets([row.seq for row in rows])
        return [(_job(row, targets[row.seq]), _counts(row)) for row in rows]

    def continuous_targeting(self, groups: Sequence[str], thing: str) -> list[Job]:
        """Active continuous jobs with a target among ``groups`` or the thing itself."""
        hits = select(job_targets.c.job_seq).where(or_(
            and_(job_targets.c.kind == "thinggroup", job_targets.c.name.in_(list(groups))),
            and_(job_targets.c.kind == "thing", job_targets.c.name == thing),
        ))
        query = select(jobs).where(
            jobs.c.seq.in_(hits), jobs.c.status.in_(_ACTIVE), jobs.c.target_selection == "CONTINUOUS")
        rows = list(self.conn.execute(query))
        targets = self._targets([row.seq for row in rows])
        return [_job(row, targets[row.seq]) for row in rows]

    def _seq(self, job_id: str) -> int:
        if job_id not in self._seqs:
            self._seqs[job_id] = int(self.conn.execute(_SEQ_BY_ID, {"job_id": job_id}).scalar_one())
        return self._seqs[job_id]

    def _add_targets(self, seq: int, start: int, targets: Sequence[Target]) -> None:
        if targets:
            self.conn.execute(insert(job_targets), [
                {"job_seq": seq, "position": start + i, "kind": t.kind, "name": t.name, "arn": t.arn}
                for i, t in enumerate(targets)
            ])

    def _targets(self, seqs: list[int]) -> dict[int, list[Target]]:
        found: dict[int, list[Target]] = {seq: [] for seq in seqs}
        if seqs:
            query = (select(job_targets).where(job_targets.c.job_seq.in_(seqs))
                     .order_by(job_targets.c.job_seq, job_targets.c.position))
            for row in self.conn.execute(query):
                found[row.job_seq].append(Target(row.kind, row.name, row.arn))
        return found

    # --- things not yet notified -------------------------------------------------------------------

    def add_pending(self, job_id: str, targets: Sequence[Target]) -> int:
        """Queue every thing the targets name (groups with their subgroups) that the job has not got yet."""
        seq = self._seq(job_id)
        names = [t.name for t in targets if t.kind == "thing"]
        groups = [t.name for t in targets if t.kind == "thinggroup"]
        candidates = self._target_things(names, groups)
        if candidates is None:
            return 0
        has_execution = select(job_executions.c.thing_name).where(job_executions.c.job_seq == seq)
        already = select(job_pending.c.thing_name).where(job_pending.c.job_seq == seq)
        source = (
            select(literal(seq), candidates.c.name)
            .where(candidates.c.name.not_in(has_execution), candidates.c.name.not_in(already))
            .distinct()
            .order_by(candidates.c.name)
        )
        added = self.conn.execute(
            insert(job_pending).from_select(["job_seq", "thing_name"], source)
        ).rowcount
        if added:
            self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(n_pending=jobs.c.n_pending + added))
        return int(added)

    def _target_things(self, names: Sequence[str], groups: Sequence[str]) -> Any:
        parts = []
        if names:
            parts.append(select(things.c.name).where(things.c.name.in_(list(names))))
        if groups:
            roots = select(thing_groups.c.path).where(thing_groups.c.name.in_(list(groups))).subquery()
            subtree = select(thing_groups.c.seq).join(
                roots, thing_groups.c.path.startswith(roots.c.path))  # paths are digits and slashes
            parts.append(
                select(things.c.name)
                .join(thing_group_members, thing_group_members.c.thing_seq == things.c.seq)
                .where(thing_group_members.c.group_seq.in_(subtree))
            )
        if not parts:
            return None
        union = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
        return union.subquery()

    def covers(self, job_id: str, thing: str) -> bool:
        """Whether the job's targets (things, groups with their subgroups) still include the thing."""
        job = self.get(job_id)
        if job is None:
            return False
        candidates = self._target_things([t.name for t in job.targets if t.kind == "thing"],
                                         [t.name for t in job.targets if t.kind == "thinggroup"])
        if candidates is None:
            return False
        found = self.conn.execute(select(candidates.c.name).where(candidates.c.name == thing).limit(1)).first()
        return found is not None

    def forget_thing(self, thing: str) -> int:
        """A deleted thing: no job that has not notified it yet will."""
        seqs = [row.job_seq for row in self.conn.execute(
            select(job_pending.c.job_seq).where(job_pending.c.thing_name == thing))]
        for seq in seqs:
            self.conn.execute(delete(job_pending).where(job_pending.c.job_seq == seq,
                                                        job_pending.c.thing_name == thing))
            self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(n_pending=jobs.c.n_pending - 1))
        return len(seqs)

    def drop_pending(self, job_id: str, thing: str | None = None) -> int:
        """Forget things not yet notified: all of them, or one."""
        seq = self._seq(job_id)
        where = [job_pending.c.job_seq == seq] + ([job_pending.c.thing_name == thing] if thing is not None else [])
        dropped = int(self.conn.execute(delete(job_pending).where(*where)).rowcount)
        if dropped:
            self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(n_pending=jobs.c.n_pending - dropped))
        return dropped

    def dispatch(self, job_id: str, limit: int | None, now: datetime) -> int:
        """Turn up to ``limit`` pending things (oldest first; None: all) into QUEUED executions."""
        seq = self._seq(job_id)
        chosen = select(job_pending.c.seq).where(job_pending.c.job_seq == seq).order_by(job_pending.c.seq)
        if limit is not None:
            chosen = chosen.limit(limit)
        last = self.conn.execute(select(func.max(chosen.subquery().c.seq))).scalar()
        if last is None:
            return 0
        moved = and_(job_pending.c.job_seq == seq, job_pending.c.seq <= last)
        source = select(
            literal(seq), job_pending.c.thing_name, literal(1), literal(True), literal(ExecutionStatus.QUEUED.value),
            literal("{}"), literal(now, job_executions.c.queued_at.type), literal(now, job_executions.c.queued_at.type),
            literal(1), literal(0), literal("{}"), literal(False),
        ).where(moved).order_by(job_pending.c.seq)
        columns = ["job_seq", "thing_name", "execution_number", "is_latest", "status", "status_details", "queued_at",
                   "last_updated_at", "version", "retry_attempt", "retry_counts", "force_canceled"]
        created = int(self.conn.execute(insert(job_executions).from_select(columns, source)).rowcount)
        self._note_from(select(job_pending.c.thing_name, _at(now)).where(moved))
        self.conn.execute(delete(job_pending).where(moved))
        self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(
            **_adjust({ExecutionStatus.QUEUED: created}, -created), notified=jobs.c.notified + created))
        return created

    # --- executions --------------------------------------------------------------------------------

    def execution(self, job_id: str, thing: str, number: int | None = None) -> Execution | None:
        """One execution of a job on a thing: the numbered one, or the latest."""
        query = select(*_EXECUTION_COLUMNS).join(jobs, jobs.c.seq == job_executions.c.job_seq).where(
            jobs.c.job_id == job_id, job_executions.c.thing_name == thing)
        if number is None:
            query = query.where(job_executions.c.is_latest.is_(True))
        else:
            query = query.where(job_executions.c.execution_number == number)
        row = self.conn.execute(query).first()
        return _execution(row, row.job_id) if row else None

    def save_execution(self, before: Execution, after: Execution) -> None:
        """Store a changed execution (same number), moving the job's counts if its status changed."""
        seq = self._seq(before.job_id)
        self.conn.execute(update(job_executions).where(
            job_executions.c.job_seq == seq, job_executions.c.thing_name == before.thing_name,
            job_executions.c.execution_number == before.execution_number,
        ).values(**_execution_values(after)))
        if before.status != after.status:
            self._move_count(seq, before.status, after.status)
            self.note_things([after.thing_name], after.last_updated_at)

    def supersede(self, before: Execution, retry: Execution) -> None:
        """Add the next attempt of an execution; it becomes the thing's latest."""
        seq = self._seq(before.job_id)
        self.conn.execute(update(job_executions).where(
            job_executions.c.job_seq == seq, job_executions.c.thing_name == before.thing_name,
        ).values(is_latest=False))
        self.conn.execute(insert(job_executions).values(job_seq=seq, is_latest=True, **_execution_values(retry)))
        self._move_count(seq, before.status, retry.status)
        self.note_things([retry.thing_name], retry.last_updated_at)

    def delete_execution(self, execution: Execution, latest: bool, now: datetime) -> None:
        seq = self._seq(execution.job_id)
        self.conn.execute(delete(job_executions).where(
            job_executions.c.job_seq == seq, job_executions.c.thing_name == execution.thing_name,
            job_executions.c.execution_number == execution.execution_number))
        if latest:
            self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(**_adjust({execution.status: -1})))
            if not execution.status.terminal:
                self.note_things([execution.thing_name], now)

    def cancel_all(self, job_id: str, force: bool, now: datetime) -> int:
        """Cancel the job's QUEUED executions (and IN_PROGRESS ones with force) in one statement each."""
        seq = self._seq(job_id)
        statuses = [ExecutionStatus.QUEUED] + ([ExecutionStatus.IN_PROGRESS] if force else [])
        self._note_latest(seq, [s.value for s in statuses], now)
        total = 0
        for status in statuses:
            changed = int(self.conn.execute(update(job_executions).where(
                job_executions.c.job_seq == seq, job_executions.c.is_latest.is_(True),
                job_executions.c.status == status.value,
            ).values(
                status=ExecutionStatus.CANCELED.value, last_updated_at=now, version=job_executions.c.version + 1,
                force_canceled=status == ExecutionStatus.IN_PROGRESS, timeout_at=None, in_progress_deadline=None,
                step_deadline=None,
            )).rowcount)
            if changed:
                self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(
                    **_adjust({status: -changed, ExecutionStatus.CANCELED: changed})))
            total += changed
        return total

    def due_timeouts(self, now: datetime, limit: int) -> list[Execution]:
        query = (select(*_EXECUTION_COLUMNS).join(jobs, jobs.c.seq == job_executions.c.job_seq)
                 .where(job_executions.c.timeout_at <= now).order_by(job_executions.c.timeout_at).limit(limit))
        return [_execution(row, row.job_id) for row in self.conn.execute(query)]

    def next_timeout(self) -> datetime | None:
        value = self.conn.execute(select(func.min(job_executions.c.timeout_at))).scalar()
        return value if isinstance(value, datetime) else None

    def executions_for_job(
        self, job_id: str, status: str | None, after: int, limit: int
    ) -> list[tuple[int, Execution]]:
        seq = self._seq(job_id)
        where: list[ColumnElement[bool]] = [job_executions.c.job_seq == seq, job_executions.c.is_latest.is_(True),
                                            job_executions.c.seq > after]
        if status:
            where.append(job_executions.c.status == status)
        query = select(job_executions).where(*where).order_by(job_executions.c.seq).limit(limit)
        return [(row.seq, _execution(row, job_id)) for row in self.conn.execute(query)]

    def executions_for_thing(
        self, thing: str, status: str | None, job_id: str | None, after: int, limit: int
    ) -> list[tuple[int, Execution]]:
        where: list[ColumnElement[bool]] = [job_executions.c.thing_name == thing,
                                            job_executions.c.is_latest.is_(True), job_executions.c.seq > after]
        if status:
            where.append(job_executions.c.status == status)
        if job_id:
            where.append(jobs.c.job_id == job_id)
        query = (select(*_EXECUTION_COLUMNS).join(jobs, jobs.c.seq == job_executions.c.job_seq)
                 .where(*where).order_by(job_executions.c.seq).limit(limit))
        return [(row.seq, _execution(row, row.job_id)) for row in self.conn.execute(query)]

    def pending_for_thing(self, thing: str) -> list[Execution]:
        """The thing's QUEUED and IN_PROGRESS executions, oldest queued first."""
        query = (select(*_EXECUTION_COLUMNS).join(jobs, jobs.c.seq == job_executions.c.job_seq)
                 .where(job_executions.c.thing_name == thing, job_executions.c.is_latest.is_(True),
                        job_executions.c.status.in_(_PENDING_STATUSES))
                 .order_by(job_executions.c.queued_at, job_executions.c.seq))
        return [_execution(row, row.job_id) for row in self.conn.execute(query)]

    def _move_count(self, seq: int, before: ExecutionStatus, after: ExecutionStatus) -> None:
        self.conn.execute(update(jobs).where(jobs.c.seq == seq).values(**_adjust({before: -1, after: 1})))

    # --- the outbox of things to notify ------------------------------------------------------------

    def note_things(self, thing_names: Sequence[str], now: datetime) -> None:
        """Note that these things' pending executions may have changed (a thing already noted keeps its
        place in the queue)."""
        names = sorted(set(thing_names))
        if names:
            self.conn.execute(self._insert_notices(), [{"thing_name": n, "noted_at": now} for n in names])

    def has_notices(self) -> bool:
        return self.conn.execute(select(device_notices.c.thing_name).limit(1)).first() is not None

    def take_notices(self, limit: int) -> list[str]:
        """Up to ``limit`` noted things, longest waiting first, removed from the outbox."""
        query = select(device_notices.c.thing_name).order_by(
            device_notices.c.noted_at, device_notices.c.thing_name).limit(limit)
        names = list(self.conn.execute(query).scalars())
        if names:
            self.conn.execute(delete(device_notices).where(device_notices.c.thing_name.in_(names)))
        return names

    def _note_latest(self, seq: int, statuses: Sequence[str], now: datetime) -> None:
        self._note_from(select(job_executions.c.thing_name, _at(now)).where(
            job_executions.c.job_seq == seq, job_executions.c.is_latest.is_(True),
            job_executions.c.status.in_(list(statuses))))

    def _note_from(self, source: Select[Any]) -> None:
        """INSERT ... SELECT of (thing_name, noted_at) rows; ``source`` names each thing at most once and has
        a WHERE clause (SQLite's upsert after a SELECT needs one)."""
        self.conn.execute(self._insert_notices().from_select(["thing_name", "noted_at"], source))

    def _insert_notices(self) -> Any:
        """An INSERT into device_notices that leaves things already noted as they are (ON CONFLICT DO
        NOTHING, so concurrent PostgreSQL writers noting one thing cannot collide)."""
        dialect = self.conn.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(device_notices).on_conflict_do_nothing()
        if dialect == "postgresql":
            return postgresql.insert(device_notices).on_conflict_do_nothing()
        return insert(device_notices).prefix_with("IGNORE", dialect="mysql")


def _at(now: datetime) -> Any:
    return literal(now, device_notices.c.noted_at.type)


class SqlJobTemplates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, template_id: str) -> JobTemplate | None:
        row = self.conn.execute(select(job_templates).where(job_templates.c.template_id == template_id)).first()
        return _template(row) if row else None

    def add(self, template: JobTemplate) -> None:
        self.conn.execute(insert(job_templates).values(
            template_id=template.template_id, description=template.description, document=template.document,
            document_source=template.document_source, config=config_to_json(template.config),
            extra={"destination_package_versions": list(template.destination_package_versions)},
            created_at=template.created_at,
        ))

    def delete(self, template_id: str) -> None:
        self.conn.execute(delete(job_templates).where(job_templates.c.template_id == template_id))

    def page(self, after: int, limit: int) -> list[tuple[int, JobTemplate]]:
        query = select(job_templates).where(job_templates.c.seq > after).order_by(job_templates.c.seq).limit(limit)
        return [(row.seq, _template(row)) for row in self.conn.execute(query)]


def _template(row: Row[Any]) -> JobTemplate:
    return JobTemplate(
        template_id=row.template_id, description=row.description, document=row.document,
        document_source=row.document_source, config=config_from_json(row.config), created_at=row.created_at,
        destination_package_versions=tuple(row.extra.get("destination_package_versions", ())),
    )
