"""``python -m tests.live.cli ARGS``: the real ``compliance-checks`` entry point, signed in with a fixed token.

For tests that must run the CLI as a separate process (to see when the
process itself ends): only the credential differs from the installed
command. ``LIVE_TEST_TOKEN`` sets the token.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import compliance_checks.live.credentials
from compliance_checks.cli import main
from tests.live.credential import StaticToken


def _credential(settings: Any) -> StaticToken:
    return StaticToken(os.environ.get("LIVE_TEST_TOKEN", "test-token"))


if __name__ == "__main__":
    compliance_checks.live.credentials.make_credential = _credential
    sys.exit(main(sys.argv[1:]))
