"""Use cases of managed things (iot-managed-integrations), each backed by the registry's thing of the same name.

Every change writes the managed thing and its backing thing in one transaction, through
``ThingRegistry.put_thing``, so dynamic thing groups (and the continuous OTA tasks that target them)
follow a managed thing as they follow any thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from otahub.domain.clock import Clock
from otahub.domain.errors import Conflict, NotFound
from otahub.domain.ids import Arns, new_hex_id, new_uuid
from otahub.domain.managed import (
    ManagedThing,
    Profile,
    check_meta_data,
    initial_provisioning_status,
    replayed,
    request_hash,
)
from otahub.domain.things import Thing
from otahub.services.jobs import JobService
from otahub.services.pagination import Page, paginate
from otahub.services.ports import ManagedThingFilter, UnitOfWork, UnitOfWorkFactory
from otahub.services.tags import check_tags
from otahub.services.things import ThingRegistry


@dataclass(frozen=True, slots=True)
class ManagedThingRequest:
    role: str
    authentication_material: str
    authentication_material_type: str
    profile: Profile = field(default_factory=Profile)
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None


class ManagedThingService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, arns: Arns, registry: ThingRegistry,
                 jobs: JobService) -> None:
        self.uow = uow
        self.clock = clock
        self.arns = arns
        self.registry = registry
        self.jobs = jobs

    def create(self, request: ManagedThingRequest) -> ManagedThing:
        check_tags(dict(request.tags))
        check_meta_data(request.profile.meta_data)
        fingerprint = request_hash(replace(request, client_token=None))
        now = self.clock.now()
        with self.uow(write=True) as tx:
            if request.client_token is not None:
                found = replayed(tx.managed_things.by_token(request.client_token), fingerprint, "CreateManagedThing")
                if found is not None:
                    return found
            managed_thing_id = new_hex_id()
            while tx.things.get(managed_thing_id) is not None:  # the id names a thing of the registry too
                managed_thing_id = new_hex_id()
            thing = ManagedThing(
                managed_thing_id, request.role, request.authentication_material, request.authentication_material_type,
                initial_provisioning_status(request.authentication_material_type, request.profile.owner),
                request.profile, now, now, request.client_token, fingerprint,
            )
            tx.managed_things.add(thing)
            self.registry.put_thing(tx, Thing(managed_thing_id, new_uuid(), None, thing.attributes(), 1, now))
            tx.tags.put(self.arns.managed_thing(managed_thing_id), dict(request.tags))
            return thing

    def get(self, managed_thing_id: str) -> tuple[ManagedThing, dict[str, str]]:
        with self.uow() as tx:
            thing = find_managed_thing(tx, managed_thing_id)
            return thing, tx.tags.get(self.arns.managed_thing(managed_thing_id))

    def list(self, where: ManagedThingFilter, token: str | None, max_results: int | None) -> Page[ManagedThing]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.managed_things.page(where, after, n), token, max_results,
                            "managed-things", where)

    def update(self, managed_thing_id: str, profile: Profile) -> ManagedThing:
        """Replace the profile members given (MetaData as a whole); the backing thing's attributes follow."""
        check_meta_data(profile.meta_data)
        now = self.clock.now()
        with self.uow(write=True) as tx:
            current = find_managed_thing(tx, managed_thing_id)
            updated = replace(current, profile=current.profile.merged(profile), updated_at=now)
            tx.managed_things.save(updated)
            backing = tx.things.get(managed_thing_id)
            if backing is None:  # removed through the iot API: the managed thing gets it back
                backing = Thing(managed_thing_id, new_uuid(), None, {}, 0, now)
            self.registry.put_thing(tx, replace(backing, attributes=updated.attributes(), version=backing.version + 1))
            return updated

    def delete(self, managed_thing_id: str, force: bool) -> None:
        """Without Force a managed thing with work queued or in progress is kept (ConflictException); with
        Force that work is canceled first, so the tasks it belongs to can still complete."""
        with self.uow() as tx:
            find_managed_thing(tx, managed_thing_id)
            pending = tx.jobs.pending_for_thing(managed_thing_id)
        if pending and not force:
            jobs = ", ".join(sorted({e.job_id for e in pending}))
            raise Conflict(f"Managed thing {managed_thing_id} has OTA task executions queued or in progress "
                           f"({jobs}); delete it with Force to cancel them")
        for execution in pending:
            self.jobs.cancel_execution(execution.job_id, managed_thing_id, True, None, None)
        with self.uow(write=True) as tx:
            tx.managed_things.delete(managed_thing_id)
            tx.things.delete(managed_thing_id)
            tx.tags.drop(self.arns.managed_thing(managed_thing_id))


def find_managed_thing(tx: UnitOfWork, managed_thing_id: str) -> ManagedThing:
    thing = tx.managed_things.get(managed_thing_id)
    if thing is None:
        raise NotFound("Managed thing", managed_thing_id)
    return thing
