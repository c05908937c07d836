"""``python -m tests.live.cli ARGS``: the real ``compliance-checks`` entry point, signed in with a fixed token.

For tests that must run the CLI as a separate process (to see when the
process itself ends): only the credential differs from the installed
command. ``LIVE_TEST_TOKEN`` sets the token; ``LIVE_TEST_CREDENTIAL=raise``
makes the credential fail with a non-Azure exception after sign-in.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from azure.core.credentials import AccessToken

import compliance_checks.live.credentials
from compliance_checks.cli import main
from tests.live.credential import StaticToken


class FailingAfterSignIn(StaticToken):
    """Gives one token per scope (the sign-in), then raises what no Azure credential documents."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if scopes in self.scopes:
            raise RuntimeError(f"token cache corrupt near {self.token}")
        return super().get_token(*scopes, **kwargs)


def _credential(settings: Any) -> StaticToken:
    token = os.environ.get("LIVE_TEST_TOKEN", "test-token")
    return FailingAfterSignIn(token) if os.environ.get("LIVE_TEST_CREDENTIAL") == "raise" else StaticToken(token)


if __name__ == "__main__":
    compliance_checks.live.credentials.make_credential = _credential
    sys.exit(main(sys.argv[1:]))
