"""What a test MQTT client received, read by topic: messages on other topics wait their turn."""

from __future__ import annotations

import queue


class Inbox:
    def __init__(self, wait: float = 10.0) -> None:
        self.wait = wait
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.stash: list[tuple[str, bytes]] = []

    def put(self, topic: str, payload: bytes) -> None:
        self.messages.put((topic, payload))

    def expect(self, wanted: str) -> bytes:
        """The next message on ``wanted`` (queue.Empty after ``wait`` seconds without one)."""
        for index, (topic, payload) in enumerate(self.stash):
            if topic == wanted:
                del self.stash[index]
                return payload
        while True:
            topic, payload = self.messages.get(timeout=self.wait)
            if topic == wanted:
                return payload
            self.stash.append((topic, payload))
