"""Tags of IoT Wireless resources by ARN: arn:aws:iotwireless:{region}:{account}:{Type}/{id or name}.

Wireless devices carry the tags that stage a simulated scenario (`otahub:simulated-loss`,
`otahub:simulated-fault`); they are ordinary tags here and read by the simulated network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from otahub.domain.errors import InvalidInput, LimitExceeded, NotFound
from otahub.domain.ids import Arns
from otahub.domain.wireless import MAX_TAGS, check_tags
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory

# resource type in the ARN -> does a resource with that id (a destination: name) exist?
FINDERS: dict[str, Callable[[UnitOfWork, str], bool]] = {
    "WirelessDevice": lambda tx, key: tx.wireless_devices.get(key) is not None,
    "MulticastGroup": lambda tx, key: tx.multicast_groups.get(key) is not None,
    "FuotaTask": lambda tx, key: tx.fuota_tasks.get(key) is not None,
    "Destination": lambda tx, key: tx.destinations.get(key) is not None,
}


class WirelessTags:
    def __init__(self, uow: UnitOfWorkFactory, arns: Arns) -> None:
        self.uow = uow
        self.arns = arns

    def _require(self, tx: UnitOfWork, arn: str) -> None:
        parsed = self.arns.parse_wireless(arn)
        if parsed is None:
            raise InvalidInput(f"ResourceArn: {arn} is not an iotwireless ARN of this region and account",
                               field="ResourceArn")
        resource_type, key = parsed
        finder = FINDERS.get(resource_type)
        if finder is None:
            raise InvalidInput(f"ResourceArn: resources of type {resource_type} cannot be tagged here (only "
                               f"{', '.join(FINDERS)})", field="ResourceArn")
        if not finder(tx, key):
            raise NotFound(resource_type, key)

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        with self.uow(write=True) as tx:
            self._require(tx, arn)
            merged = {**tx.tags.get(arn), **tags}
            if len(merged) > MAX_TAGS:
                raise LimitExceeded(f"Tags: {arn} would have {len(merged)} tags; a resource has at most {MAX_TAGS}",
                                    field="Tags")
            check_tags(merged)
            tx.tags.put(arn, dict(tags))

    def untag(self, arn: str, keys: Sequence[str]) -> None:
        with self.uow(write=True) as tx:
            self._require(tx, arn)
            tx.tags.remove(arn, keys)

    def list(self, arn: str) -> dict[str, str]:
        with self.uow() as tx:
            self._require(tx, arn)
            return tx.tags.get(arn)
