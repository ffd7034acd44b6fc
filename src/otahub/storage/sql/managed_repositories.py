"""Managed things, OTA task configurations and OTA tasks over SQLAlchemy Core (explicit row <-> domain).

Configurations and schedules are kept as JSON in the domain's own names; the job an OTA task is a
face of lives in the jobs tables (see job_repositories.py), joined here only to find live tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from otahub.domain.jobs import JobStatus, RetryCriterion, WindowSpec
from otahub.domain.managed import ManagedThing, OtaSchedule, OtaTask, OtaType, Profile, TaskConfiguration
from otahub.services.ports import ManagedThingFilter
from otahub.storage.sql.job_repositories import config_from_json, config_to_json
from otahub.storage.sql.tables import jobs, managed_things, ota_task_configurations, ota_tasks

_LIVE = (JobStatus.SCHEDULED.value, JobStatus.IN_PROGRESS.value)


# --- managed things ----------------------------------------------------------------------------------


def _managed_values(thing: ManagedThing) -> dict[str, Any]:
    p = thing.profile
    return {
        "managed_thing_id": thing.managed_thing_id, "role": thing.role,
        "authentication_material": thing.authentication_material,
        "authentication_material_type": thing.authentication_material_type,
        "provisioning_status": thing.provisioning_status, "owner": p.owner,
        "credential_locker_id": p.credential_locker_id, "serial_number": p.serial_number, "brand": p.brand,
        "model": p.model, "name": p.name, "classification": p.classification, "hub_network_mode": p.hub_network_mode,
        "meta_data": None if p.meta_data is None else dict(p.meta_data),
        "documents": {
            "capability_report": p.capability_report, "capabilities": p.capabilities, "wifi_setup": p.wifi_setup,
            "capability_schemas": None if p.capability_schemas is None else list(p.capability_schemas),
        },
        "client_token": thing.client_token, "request_hash": thing.request_hash,
        "created_at": thing.created_at, "updated_at": thing.updated_at,
    }


def _managed(row: Row[Any]) -> ManagedThing:
    documents = row.documents
    schemas = documents.get("capability_schemas")
    profile = Profile(
        owner=row.owner, credential_locker_id=row.credential_locker_id, serial_number=row.serial_number,
        brand=row.brand, model=row.model, name=row.name, classification=row.classification,
        hub_network_mode=row.hub_network_mode, meta_data=row.meta_data,
        capability_report=documents.get("capability_report"), capabilities=documents.get("capabilities"),
        capability_schemas=None if schemas is None else tuple(schemas), wifi_setup=documents.get("wifi_setup"),
    )
    return ManagedThing(
        row.managed_thing_id, row.role, row.authentication_material, row.authentication_material_type,
        row.provisioning_status, profile, row.created_at, row.updated_at, row.client_token, row.request_hash,
    )


class SqlManagedThings:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, managed_thing_id: str) -> ManagedThing | None:
        row = self.conn.execute(
            select(managed_things).where(managed_things.c.managed_thing_id == managed_thing_id)).first()
        return _managed(row) if row else None

    def by_token(self, client_token: str) -> ManagedThing | None:
        row = self.conn.execute(select(managed_things).where(managed_things.c.client_token == client_token)).first()
        return _managed(row) if row else None

    def add(self, thing: ManagedThing) -> None:
        self.conn.execute(insert(managed_things).values(**_managed_values(thing)))

    def save(self, thing: ManagedThing) -> None:
        self.conn.execute(update(managed_things).where(managed_things.c.managed_thing_id == thing.managed_thing_id)
                          .values(**_managed_values(thing)))

    def delete(self, managed_thing_id: str) -> None:
        self.conn.execute(delete(managed_things).where(managed_things.c.managed_thing_id == managed_thing_id))

    def page(self, where: ManagedThingFilter, after: int, limit: int) -> list[tuple[int, ManagedThing]]:
        query = select(managed_things).where(managed_things.c.seq > after)
        for column, value in (("owner", where.owner), ("credential_locker_id", where.credential_locker_id),
                              ("role", where.role), ("serial_number", where.serial_number),
                              ("provisioning_status", where.provisioning_status)):
            if value is not None:
                query = query.where(managed_things.c[column] == value)
        rows = self.conn.execute(query.order_by(managed_things.c.seq).limit(limit))
        return [(row.seq, _managed(row)) for row in rows]


# --- OTA task configurations ---------------------------------------------------------------------------


def _configuration(row: Row[Any]) -> TaskConfiguration:
    return TaskConfiguration(row.configuration_id, row.name, row.description, config_from_json(row.push_config),
                             row.created_at, row.client_token, row.request_hash)


class SqlTaskConfigurations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, configuration_id: str) -> TaskConfiguration | None:
        row = self.conn.execute(select(ota_task_configurations)
                                .where(ota_task_configurations.c.configuration_id == configuration_id)).first()
        return _configuration(row) if row else None

    def by_token(self, client_token: str) -> TaskConfiguration | None:
        row = self.conn.execute(select(ota_task_configurations)
                                .where(ota_task_configurations.c.client_token == client_token)).first()
        return _configuration(row) if row else None

    def add(self, configuration: TaskConfiguration) -> None:
        self.conn.execute(insert(ota_task_configurations).values(
            configuration_id=configuration.configuration_id, name=configuration.name,
            description=configuration.description, push_config=config_to_json(configuration.push),
            client_token=configuration.client_token, request_hash=configuration.request_hash,
            created_at=configuration.created_at,
        ))

    def delete(self, configuration_id: str) -> None:
        self.conn.execute(delete(ota_task_configurations)
                          .where(ota_task_configurations.c.configuration_id == configuration_id))

    def page(self, after: int, limit: int) -> list[tuple[int, TaskConfiguration]]:
        query = (select(ota_task_configurations).where(ota_task_configurations.c.seq > after)
                 .order_by(ota_task_configurations.c.seq).limit(limit))
        return [(row.seq, _configuration(row)) for row in self.conn.execute(query)]


# --- OTA tasks -----------------------------------------------------------------------------------------


def _schedule_to_json(schedule: OtaSchedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {"start_time": schedule.start_time, "end_time": schedule.end_time, "end_behavior": schedule.end_behavior,
            "windows": [{"cron": w.cron, "minutes": w.duration_minutes} for w in schedule.windows]}


def _schedule_from_json(data: Mapping[str, Any] | None) -> OtaSchedule | None:
    if data is None:
        return None
    return OtaSchedule(data["start_time"], data["end_time"], data["end_behavior"],
                       tuple(WindowSpec(w["cron"], w["minutes"]) for w in data["windows"]))


def _task_values(task: OtaTask) -> dict[str, Any]:
    return {
        "task_id": task.task_id, "job_id": task.job_id, "description": task.description, "s3_url": task.s3_url,
        "ota_type": task.ota_type.value, "protocol": task.protocol, "mechanism": task.mechanism,
        "targets": list(task.targets), "query_string": task.query_string, "group_name": task.group_name,
        "task_configuration_id": task.task_configuration_id, "schedule": _schedule_to_json(task.schedule),
        "retry": [{"type": c.failure_type, "n": c.number_of_retries} for c in task.retry],
        "client_token": task.client_token, "request_hash": task.request_hash,
        "created_at": task.created_at, "updated_at": task.updated_at,
    }


def _task(row: Row[Any]) -> OtaTask:
    return OtaTask(
        task_id=row.task_id, job_id=row.job_id, s3_url=row.s3_url, ota_type=OtaType(row.ota_type),
        protocol=row.protocol, mechanism=row.mechanism, targets=tuple(row.targets), query_string=row.query_string,
        group_name=row.group_name, task_configuration_id=row.task_configuration_id, description=row.description,
        schedule=_schedule_from_json(row.schedule),
        retry=tuple(RetryCriterion(c["type"], c["n"]) for c in row.retry),
        created_at=row.created_at, updated_at=row.updated_at, client_token=row.client_token,
        request_hash=row.request_hash,
    )


class SqlOtaTasks:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, task_id: str) -> OtaTask | None:
        row = self.conn.execute(select(ota_tasks).where(ota_tasks.c.task_id == task_id)).first()
        return _task(row) if row else None

    def by_token(self, client_token: str) -> OtaTask | None:
        row = self.conn.execute(select(ota_tasks).where(ota_tasks.c.client_token == client_token)).first()
        return _task(row) if row else None

    def add(self, task: OtaTask) -> None:
        self.conn.execute(insert(ota_tasks).values(**_task_values(task)))

    def save(self, task: OtaTask) -> None:
        self.conn.execute(update(ota_tasks).where(ota_tasks.c.task_id == task.task_id).values(**_task_values(task)))

    def delete(self, task_id: str) -> None:
        self.conn.execute(delete(ota_tasks).where(ota_tasks.c.task_id == task_id))

    def page(self, after: int, limit: int) -> list[tuple[int, OtaTask]]:
        query = select(ota_tasks).where(ota_tasks.c.seq > after).order_by(ota_tasks.c.seq).limit(limit)
        return [(row.seq, _task(row)) for row in self.conn.execute(query)]

    def live_using(self, configuration_id: str) -> list[str]:
        query = (select(ota_tasks.c.task_id).join(jobs, jobs.c.job_id == ota_tasks.c.job_id)
                 .where(ota_tasks.c.task_configuration_id == configuration_id, jobs.c.status.in_(_LIVE))
                 .order_by(ota_tasks.c.seq))
        return [row.task_id for row in self.conn.execute(query)]
