"""A/B firmware slots on disk: the new image goes into the inactive slot, a "reboot" switches slots.

Layout under the root::

    state.json     {"active": "a", "pending": null, "testing": false, "previous": null, "versions": {...}}
    a/image.bin    slot A's image
    b/image.bin    slot B's image
    tmp/           images and state being written (cleared on open)

Every write goes to a file in ``tmp/`` (or next to ``state.json``), is fsynced and renamed into place,
and the directory is fsynced, so a crash leaves either the old or the new file, never half of one. An
image is only ever written into the inactive slot, and the active slot changes only by rewriting
``state.json``; a crash mid-install therefore never touches the image the device boots.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from otahub.device.status import AppVersion

SLOTS = ("a", "b")
IMAGE = "image.bin"
STATE = "state.json"


class SlotError(RuntimeError):
    """The slot store cannot do what was asked (nothing pending, no test running, ...)."""


@dataclass(frozen=True, slots=True)
class SlotState:
    active: str = "a"
    pending: str | None = None  # installed, waiting for the reboot
    testing: bool = False  # booted from ``active``, not committed yet; ``previous`` is the way back
    previous: str | None = None
    versions: dict[str, str] = field(default_factory=dict)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class SlotStore:
    """Two image slots and which one boots; every change is durable before the call returns."""

    def __init__(self, root: Path, state: SlotState) -> None:
        self.root = root
        self._state = state

    @classmethod
    def open(cls, root: Path, initial_version: AppVersion) -> SlotStore:
        """Open (or create) the store; leftovers of an interrupted write are removed."""
        for name in (*SLOTS, "tmp"):
            (root / name).mkdir(parents=True, exist_ok=True)
        for leftover in (root / "tmp").iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        for stale in root.glob(f".{STATE}.*.tmp"):
            stale.unlink()
        path = root / STATE
        if path.exists():
            raw = json.loads(path.read_text())
            state = SlotState(raw["active"], raw.get("pending"), bool(raw.get("testing")), raw.get("previous"),
                              dict(raw.get("versions") or {}))
            if state.active not in SLOTS:
                raise SlotError(f"{path} names an unknown active slot {state.active!r}")
            return cls(root, state)
        store = cls(root, SlotState(versions={"a": str(initial_version)}))
        store._save(store._state)
        return store

    @property
    def state(self) -> SlotState:
        return self._state

    @property
    def active(self) -> str:
        return self._state.active

    @property
    def inactive(self) -> str:
        return SLOTS[1 - SLOTS.index(self._state.active)]

    @property
    def testing(self) -> bool:
        return self._state.testing

    def image(self, slot: str) -> Path:
        return self.root / slot / IMAGE

    def active_image(self) -> Path:
        return self.image(self.active)

    def version(self, slot: str | None = None) -> AppVersion | None:
        text = self._state.versions.get(slot or self.active)
        return AppVersion.parse(text) if text else None

    def provision(self, data: bytes, version: AppVersion) -> None:
        """Put a factory image into the active slot of a store that holds none yet."""
        if self.active_image().exists():
            raise SlotError("the active slot already holds an image")
        self._write_image(self.active, data)
        self._save(replace(self._state, versions={**self._state.versions, self.active: str(version)}))

    def install(self, source: Path) -> str:
        """Copy ``source`` into the inactive slot (atomically) and mark it pending; returns the slot."""
        if self._state.testing:
            raise SlotError("an image is under test; commit or roll back first")
        slot = self.inactive
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp", prefix=f"{slot}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.image(slot))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.root / slot)
        versions = {k: v for k, v in self._state.versions.items() if k != slot}
        self._save(replace(self._state, pending=slot, versions=versions))
        return slot

    def switch(self) -> str:
        """The "reboot": boot the pending slot in test mode; returns the slot now active."""
        pending = self._state.pending
        if pending is None:
            raise SlotError("no image is pending")
        self._save(replace(self._state, active=pending, pending=None, testing=True, previous=self._state.active))
        return pending

    def commit(self, version: AppVersion) -> None:
        """The image under test passed: keep it, recording the version it reported."""
        if not self._state.testing:
            raise SlotError("no image is under test")
        self._save(replace(self._state, testing=False, previous=None,
                           versions={**self._state.versions, self.active: str(version)}))

    def rollback(self) -> str:
        """The image under test failed (or never got tested): boot the previous slot again; returns it."""
        if not self._state.testing or self._state.previous is None:
            raise SlotError("no image is under test")
        self._save(replace(self._state, active=self._state.previous, testing=False, previous=None))
        return self.active

    def discard_pending(self) -> None:
        if self._state.pending is not None:
            self._save(replace(self._state, pending=None))

    def _write_image(self, slot: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp", prefix=f"{slot}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.image(slot))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.root / slot)

    def _save(self, state: SlotState) -> None:
        atomic_write(self.root / STATE, json.dumps(asdict(state), sort_keys=True).encode())
        self._state = state
