"""A fixed bearer token for the local stand-in (it checks that one is sent, not what it says)."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken


class StaticToken:
    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)
