# Two commands for a newcomer: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev

.PHONY: help setup run audit render test lint typecheck unit lock browser tls-tools checkov-env benchmark docs policy-pack clean

help:
	@echo "make run       - set up, then audit the $(STACK) stack offline and write reports/ (no Azure account needed)"
	@echo "make test      - set up, then lint, type-check and run every test"
	@echo "make render    - print every resource the $(STACK) stack would deploy"
	@echo "make browser   - install Debian's Chromium for the report screenshot test (root)"
	@echo "make tls-tools - install Debian's testssl.sh and openssl for the TLS probe tests (root)"
	@echo "make checkov-env - checkov in its own virtualenv (.venv-checkov), pinned by policies/checkov/requirements.lock"
	@echo "make benchmark - one table: audits of 1k-100k resources per source beside checkov, live collection, make run, probes"
	@echo "make docs      - regenerate the tables in docs/ from the catalogue, the checks and the policy pack"
	@echo "make policy-pack - build/policy-pack/: the policy pack as pulumi policy publish uploads it (docs/policy-pack.md)"
	@echo "make lock      - re-resolve requirements.lock from pyproject.toml"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

run: audit

audit: $(STAMP)
	$(BIN)/compliance-checks audit --stack $(STACK) --out reports/synth-$(STACK)

render: $(STAMP)
	$(BIN)/python -m infra.render --stack $(STACK)

lint: $(STAMP)
	$(BIN)/ruff check infra compliance_checks policies tests benchmarks
	$(BIN)/ruff format --check infra compliance_checks policies tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

# checkov pins dependencies that conflict with pulumi's: it gets its own virtualenv.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): policies/checkov/requirements.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --require-hashes -r policies/checkov/requirements.lock
	@touch $(CHECKOV_STAMP)

checkov-env: $(CHECKOV_STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

# testssl.sh, the reference the TLS probe is compared with (tests/test_probes_tls_ciphers.py); openssl signs its SHA-1 case.
tls-tools:
	@{ command -v testssl >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq testssl.sh openssl; }

# benchmarks/table.py runs issue 15's benchmarks (end to end per source and size with checkov side by side, live
# collection, make run, probes; their own output on stderr) and prints one table with every target. The others
# follow; each prints its figures and whether it met its target, and one that misses (exit 1) does not stop the rest.
benchmark: $(STAMP)
	-$(BIN)/python benchmarks/table.py
	-$(BIN)/python benchmarks/render.py
	-$(BIN)/python benchmarks/evaluate.py
	-$(BIN)/python benchmarks/evaluators.py
	-$(BIN)/python benchmarks/policy_pack.py

# The claims, checks, reads and policies tables between <!-- generated: ... --> markers.
docs: $(STAMP)
	$(BIN)/python -m compliance_checks.docs_gen

# The pack as `pulumi policy publish` uploads it: PulumiPolicy.yaml with the project version,
# requirements.txt cut from requirements.lock, the project's packages vendored (policies/publish.py).
policy-pack: $(STAMP)
	$(BIN)/python -m policies.publish --out build/policy-pack

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --generate-hashes --universal --python-version 3.11 -o requirements.lock
	$(BIN)/python -m uv pip compile policies/checkov/requirements.in --generate-hashes --universal --python-version 3.11 -o policies/checkov/requirements.lock

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache reports
