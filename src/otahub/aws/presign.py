"""Presigned firmware download URLs on otahub's own S3 endpoint, for `${aws:iot:s3-presigned-url:...}`.

The URLs are ordinary SigV4 query-signed S3 GetObject URLs, signed with the server's own key pair at
the service clock's time, so their expiry follows a virtual clock like every other timer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from otahub.aws.auth import presign_get
from otahub.domain.documents import ObjectRef, substitute_presigned

DirectUrl = Callable[[ObjectRef, int], str]  # an object's URL in the external blob store, valid ``int`` seconds


@dataclass(frozen=True, slots=True)
class Presigner:
    """Signs download URLs on otahub's endpoint, or (``--device-downloads direct``) in the external store."""

    access_key: str
    secret: str
    region: str
    direct: DirectUrl | None = None

    def url(self, base_url: str, ref: ObjectRef, now: datetime, expires: int) -> str:
        if self.direct is not None:
            return self.direct(ref, expires)  # expires by the store's own (real) clock
        path = f"/{quote(ref.bucket, safe='')}/{quote(ref.key, safe='/~')}"
        extra = [("versionId", ref.version)] if ref.version else []
        return presign_get(base_url, path, extra, access_key=self.access_key, secret=self.secret,
                           region=self.region, service="s3", now=now, expires=expires)

    def signer_for(self, base_url: str, now: datetime, expires: int) -> Callable[[ObjectRef], str]:
        return lambda ref: self.url(base_url, ref, now, expires)

    def substitute(self, document: str, base_url: str, now: datetime, expires: int) -> str:
        return substitute_presigned(document, self.signer_for(base_url, now, expires))
