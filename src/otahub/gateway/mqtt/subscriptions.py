"""The subscription table: which sessions a topic reaches, shared subscriptions taken in turn.

Filters without wildcards are found by a dict lookup, wildcard filters by ``topic_matches`` (which keeps
``$`` topics from ``#`` and ``+``). A shared subscription ``$share/{group}/{filter}`` gives each message to
one member of the group: the next connected member after the last one served (round robin), or, when no
member is connected, the next member (whose persistent session queues it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from otahub.gateway.mqtt.packets import Subscription
from otahub.gateway.mqtt.topics import TopicFilter, topic_matches

Targets = dict[str, list[Subscription]]
"""Client id to the subscriptions of that client that matched."""


@dataclass(slots=True)
class _Group:
    members: dict[str, Subscription] = field(default_factory=dict)
    cursor: int = 0

    def pick(self, online: Callable[[str], bool]) -> tuple[str, Subscription]:
        clients = list(self.members)
        for step in range(len(clients)):
            index = (self.cursor + step) % len(clients)
            if online(clients[index]):
                break
        else:
            index = self.cursor % len(clients)
        self.cursor = index + 1
        client_id = clients[index]
        return client_id, self.members[client_id]


def _has_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


class SubscriptionTable:
    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Subscription]] = {}
        self._wildcard: dict[str, dict[str, Subscription]] = {}
        self._shared: dict[tuple[str, str], _Group] = {}

    def add(self, client_id: str, topic_filter: TopicFilter, subscription: Subscription) -> None:
        if topic_filter.share_group is not None:
            key = (topic_filter.share_group, topic_filter.filter)
            self._shared.setdefault(key, _Group()).members[client_id] = subscription
            return
        table = self._wildcard if _has_wildcard(topic_filter.filter) else self._exact
        table.setdefault(topic_filter.filter, {})[client_id] = subscription

    def remove(self, client_id: str, topic_filter: TopicFilter) -> None:
        if topic_filter.share_group is not None:
            key = (topic_filter.share_group, topic_filter.filter)
            group = self._shared.get(key)
            if group is not None:
                group.members.pop(client_id, None)
                if not group.members:
                    del self._shared[key]
            return
        table = self._wildcard if _has_wildcard(topic_filter.filter) else self._exact
        clients = table.get(topic_filter.filter)
        if clients is not None:
            clients.pop(client_id, None)
            if not clients:
                del table[topic_filter.filter]

    def match(self, topic: str, online: Callable[[str], bool]) -> Targets:
        targets: Targets = {}
        for client_id, subscription in self._exact.get(topic, {}).items():
            targets.setdefault(client_id, []).append(subscription)
        for topic_filter, clients in self._wildcard.items():
            if topic_matches(topic_filter, topic):
                for client_id, subscription in clients.items():
                    targets.setdefault(client_id, []).append(subscription)
        for (_group, topic_filter), group in self._shared.items():
            if topic_matches(topic_filter, topic):
                client_id, subscription = group.pick(online)
                targets.setdefault(client_id, []).append(subscription)
        return targets
