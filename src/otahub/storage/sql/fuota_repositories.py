"""FUOTA tasks over SQLAlchemy Core: the task (settings as JSON in the domain's names, the resolved image in
columns), its devices with their FuotaDeviceStatus, and its multicast groups in association order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from otahub.domain.fuota import FirmwareImage, FuotaDeviceStatus, FuotaSettings, FuotaTask, FuotaTaskStatus
from otahub.domain.lorawan.regions import RfRegion
from otahub.storage.sql.tables import (
    fuota_task_devices,
    fuota_task_groups,
    fuota_tasks,
    multicast_group_devices,
    wireless_devices,
)

ON_AIR = (FuotaTaskStatus.SESSION_WAITING.value, FuotaTaskStatus.IN_SESSION.value)


def task_devices(task_id: str) -> Any:
    """The device ids a task reaches: recorded for it (directly or with a status) or in one of its groups."""
    own = select(fuota_task_devices.c.device_id).where(fuota_task_devices.c.task_id == task_id)
    grouped = (select(multicast_group_devices.c.device_id)
               .join(fuota_task_groups, fuota_task_groups.c.group_id == multicast_group_devices.c.group_id)
               .where(fuota_task_groups.c.task_id == task_id))
    return own.union(grouped)


def _task_values(t: FuotaTask) -> dict[str, Any]:
    settings = asdict(t.settings)
    settings["rf_region"] = t.settings.rf_region.value if t.settings.rf_region else None
    i = t.image
    return {
        "task_id": t.task_id, "status": t.status.value, "settings": settings, "image_uri": i.uri,
        "image_bucket": i.bucket, "image_key": i.key, "image_version_id": i.version_id, "image_size": i.size,
        "image_sha256": i.sha256, "start_time": t.start_time, "client_token": t.client_token,
        "request_hash": t.request_hash, "created_at": t.created_at, "updated_at": t.updated_at,
    }


def _task(row: Row[Any]) -> FuotaTask:
    settings = dict(row.settings)
    region = settings.pop("rf_region")
    image = FirmwareImage(row.image_uri, row.image_bucket, row.image_key, row.image_version_id, row.image_size,
                          row.image_sha256)
    return FuotaTask(row.task_id, FuotaSettings(rf_region=None if region is None else RfRegion(region), **settings),
                     image, FuotaTaskStatus(row.status), row.created_at, row.updated_at, row.start_time,
                     row.client_token, row.request_hash)


class SqlFuotaTasks:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, where: Any) -> FuotaTask | None:
        row = self.conn.execute(select(fuota_tasks).where(where)).first()
        return _task(row) if row else None

    def get(self, task_id: str) -> FuotaTask | None:
        return self._one(fuota_tasks.c.task_id == task_id)

    def by_token(self, client_token: str) -> FuotaTask | None:
        return self._one(fuota_tasks.c.client_token == client_token)

    def add(self, task: FuotaTask) -> None:
        self.conn.execute(insert(fuota_tasks).values(**_task_values(task)))

    def save(self, task: FuotaTask) -> None:
        self.conn.execute(update(fuota_tasks).where(fuota_tasks.c.task_id == task.task_id)
                          .values(**_task_values(task)))

    def delete(self, task_id: str) -> None:
        self.conn.execute(delete(fuota_task_devices).where(fuota_task_devices.c.task_id == task_id))
        self.conn.execute(delete(fuota_task_groups).where(fuota_task_groups.c.task_id == task_id))
        self.conn.execute(delete(fuota_tasks).where(fuota_tasks.c.task_id == task_id))

    def page(self, after: int, limit: int) -> list[tuple[int, FuotaTask]]:
        query = select(fuota_tasks).where(fuota_tasks.c.seq > after).order_by(fuota_tasks.c.seq).limit(limit)
        return [(row.seq, _task(row)) for row in self.conn.execute(query)]

    def with_status(self, statuses: Sequence[FuotaTaskStatus]) -> list[FuotaTask]:
        query = (select(fuota_tasks).where(fuota_tasks.c.status.in_([s.value for s in statuses]))
                 .order_by(fuota_tasks.c.seq))
        return [_task(row) for row in self.conn.execute(query)]

    def add_device(self, task_id: str, device_id: str, now: datetime) -> None:
        c = fuota_task_devices.c
        found = self.conn.execute(select(c.direct).where(c.task_id == task_id, c.device_id == device_id)).first()
        if found is None:
            self.conn.execute(insert(fuota_task_devices).values(task_id=task_id, device_id=device_id, direct=True,
                                                                status=None, updated_at=now))

    def remove_device(self, task_id: str, device_id: str) -> bool:
        c = fuota_task_devices.c
        result = self.conn.execute(delete(fuota_task_devices).where(c.task_id == task_id, c.device_id == device_id,
                                                                    c.direct.is_(True)))
        return result.rowcount > 0

    def device_ids(self, task_id: str) -> list[str]:
        query = (select(wireless_devices.c.device_id).where(wireless_devices.c.device_id.in_(task_devices(task_id)))
                 .order_by(wireless_devices.c.seq))
        return list(self.conn.execute(query).scalars())

    def has_direct_devices(self, task_id: str) -> bool:
        c = fuota_task_devices.c
        return self.conn.execute(select(c.device_id).where(c.task_id == task_id, c.direct.is_(True))
                                 .limit(1)).first() is not None

    def add_group(self, task_id: str, group_id: str) -> None:
        self.conn.execute(insert(fuota_task_groups).values(task_id=task_id, group_id=group_id))

    def remove_group(self, task_id: str, group_id: str) -> bool:
        c = fuota_task_groups.c
        result = self.conn.execute(delete(fuota_task_groups).where(c.task_id == task_id, c.group_id == group_id))
        return result.rowcount > 0

    def group_ids(self, task_id: str) -> list[str]:
        c = fuota_task_groups.c
        return list(self.conn.execute(select(c.group_id).where(c.task_id == task_id).order_by(c.seq)).scalars())

    def groups_page(self, task_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        c = fuota_task_groups.c
        query = select(c.seq, c.group_id).where(c.task_id == task_id, c.seq > after).order_by(c.seq).limit(limit)
        return [(row.seq, row.group_id) for row in self.conn.execute(query)]

    def tasks_of_group(self, group_id: str) -> list[FuotaTask]:
        query = (select(fuota_tasks).join(fuota_task_groups, fuota_task_groups.c.task_id == fuota_tasks.c.task_id)
                 .where(fuota_task_groups.c.group_id == group_id).order_by(fuota_tasks.c.seq))
        return [_task(row) for row in self.conn.execute(query)]

    def device_statuses(self, task_id: str) -> dict[str, FuotaDeviceStatus]:
        c = fuota_task_devices.c
        rows = self.conn.execute(select(c.device_id, c.status).where(c.task_id == task_id, c.status.is_not(None)))
        return {row.device_id: FuotaDeviceStatus(row.status) for row in rows}

    def set_device_statuses(self, task_id: str, statuses: Mapping[str, FuotaDeviceStatus], now: datetime) -> None:
        c = fuota_task_devices.c
        for device_id, status in statuses.items():
            changed = self.conn.execute(update(fuota_task_devices).where(c.task_id == task_id, c.device_id == device_id)
                                        .values(status=status.value, updated_at=now))
            if changed.rowcount == 0:  # reached through a multicast group: its first recorded status
                self.conn.execute(insert(fuota_task_devices).values(task_id=task_id, device_id=device_id, direct=False,
                                                                    status=status.value, updated_at=now))

    def busy_devices(self, device_ids: Sequence[str], other_than: str) -> set[str]:
        if not device_ids:
            return set()
        t = fuota_tasks.c
        others = select(t.task_id).where(t.status.in_(ON_AIR), t.task_id != other_than)
        direct = select(fuota_task_devices.c.device_id).where(fuota_task_devices.c.task_id.in_(others))
        grouped = (select(multicast_group_devices.c.device_id)
                   .join(fuota_task_groups, fuota_task_groups.c.group_id == multicast_group_devices.c.group_id)
                   .where(fuota_task_groups.c.task_id.in_(others)))
        query = direct.union(grouped).subquery()
        rows = self.conn.execute(select(query.c.device_id).where(query.c.device_id.in_(list(device_ids))))
        return set(rows.scalars())

    def drop_device(self, device_id: str) -> None:
        self.conn.execute(delete(fuota_task_devices).where(fuota_task_devices.c.device_id == device_id))

