"""A fixed bearer token for the local stand-in (it checks that one is sent, not what it says)."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken


class StaticToken:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("test-token", int(time.time()) + 3600)
