"""The SigV4 key pairs the server accepts: those in the store, plus one from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from otahub.domain.ids import new_access_key_pair
from otahub.services.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class StartupCredentials:
    access_key_id: str
    secret_access_key: str
    generated: bool


class CredentialStore:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self._pairs: dict[str, str] = {}

    def load(self, configured: tuple[str, str] | None) -> StartupCredentials:
        """Load known pairs; with none configured and none stored, generate and keep one."""
        with self.uow(write=True) as tx:
            self._pairs = tx.credentials.all()
            if configured is not None:
                self._pairs[configured[0]] = configured[1]
                return StartupCredentials(configured[0], configured[1], generated=False)
            if not self._pairs:
                key_id, secret = new_access_key_pair()
                tx.credentials.add(key_id, secret)
                self._pairs[key_id] = secret
                return StartupCredentials(key_id, secret, generated=True)
        key_id = sorted(self._pairs)[0]
        return StartupCredentials(key_id, self._pairs[key_id], generated=False)

    def secret_for(self, access_key_id: str) -> str | None:
        return self._pairs.get(access_key_id)
