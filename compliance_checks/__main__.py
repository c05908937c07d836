"""``python -m compliance_checks`` is ``compliance-checks``."""

import sys

from compliance_checks.cli import main

sys.exit(main())
