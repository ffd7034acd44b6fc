"""Use cases for resource tags, keyed by ARN; each taggable resource type says how to find it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from otahub.domain.errors import InvalidInput, LimitExceeded, NotFound
from otahub.domain.ids import Arns
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory

MAX_TAGS = 50

# resource type in the ARN -> does a resource of that name exist?
Finder = Callable[[UnitOfWork, str], bool]
FINDERS: dict[str, Finder] = {
    "thinggroup": lambda tx, name: tx.thing_groups.get(name) is not None,
    "thingtype": lambda tx, name: tx.thing_types.get(name) is not None,
    "stream": lambda tx, name: tx.streams.get(name) is not None,
    "job": lambda tx, name: tx.jobs.get(name) is not None,
    "jobtemplate": lambda tx, name: tx.job_templates.get(name) is not None,
    "otaupdate": lambda tx, name: tx.ota_updates.get(name) is not None,
}


def check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise LimitExceeded(f"A resource can have at most {MAX_TAGS} tags", field="tags")
    for key in tags:
        if key.lower().startswith("aws:"):
            raise InvalidInput(f"Tag keys starting with 'aws:' are reserved: {key}", field="tags")


class TagService:
    def __init__(self, uow: UnitOfWorkFactory, arns: Arns) -> None:
        self.uow = uow
        self.arns = arns

    def _require(self, tx: UnitOfWork, arn: str) -> None:
        parsed = self.arns.parse_iot(arn)
        if parsed is None:
            raise InvalidInput(f"{arn} is not an ARN of this region and account", field="resourceArn")
        resource_type, name = parsed
        finder = FINDERS.get(resource_type)
        if finder is None:
            raise InvalidInput(f"Resources of type '{resource_type}' cannot be tagged", field="resourceArn")
        if not finder(tx, name):
            raise NotFound("Resource", arn)

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self.uow(write=True) as tx:
            self._require(tx, arn)
            merged = {**tx.tags.get(arn), **tags}
            check_tags(merged)
            tx.tags.put(arn, tags)

    def untag(self, arn: str, keys: Sequence[str]) -> None:
        with self.uow(write=True) as tx:
            self._require(tx, arn)
            tx.tags.remove(arn, keys)

    def list(self, arn: str, token: str | None) -> Page[tuple[str, str]]:
        with self.uow() as tx:
            self._require(tx, arn)
            items = list(enumerate(sorted(tx.tags.get(arn).items()), start=1))
            return paginate(lambda after, n: items[after : after + n], token, None, "tags", arn)
