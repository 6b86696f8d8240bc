# Every target bootstraps .venv on first use, so a fresh clone needs only `make test` / `make demo`.
# The Lambda runtime is Python 3.12: the local venv uses the same version.
PY312 := $(shell pyenv prefix 3.12.1 2>/dev/null || echo /root/.pyenv/versions/3.12.1)/bin/python3.12
PYTHON ?= $(shell test -x $(PY312) && echo $(PY312) || command -v python3.12 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_PYTHON := $(shell pyenv prefix 3.12.1 2>/dev/null || echo /root/.pyenv/versions/3.12.1)/bin
# SAM CLI pins its own boto3/pydantic ranges: it gets a venv of its own so it never moves ours.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: axe browser spamassassin tools faketime venv test test-dates lint typecheck cfn unit integration iam-calls e2e demo serve abuse bench chaos load volume mutate lock build deploy clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

$(SAM):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

cfn: $(STAMP) $(SAM)
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint --template-file template.yaml

# Two targets installing at once (make -j, or test and test-dates side by side) wait for
# dpkg's lock instead of failing on it.
APT := apt-get -o DPkg::Lock::Timeout=600

# The e2e tests drive Debian's headless Chromium; CI machines start without it.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { $(APT) update -qq && $(APT) install -y -qq chromium chromium-driver >/dev/null; }

# The browser tests inject axe-core (pinned in package-lock.json) into every page and email.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(AXE)

axe: $(AXE)

# The mail tests (integration) score every email with Debian's SpamAssassin (local rules, no
# network).
spamassassin:
	@command -v spamassassin >/dev/null || \
	  { $(APT) update -qq && $(APT) install -y -qq spamassassin >/dev/null; }

tools: browser spamassassin

test: lint typecheck cfn tools $(AXE)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP) spamassassin
	$(BIN)/python -m pytest tests/integration

# Re-record what each handler calls (tests/iam_calls.json), after code starts or stops an AWS
# call; tests/unit/test_iam.py then holds template.yaml's policies to it.
iam-calls: $(STAMP)
	rm -f tests/iam_calls.json
	$(BIN)/python -m pytest tests/integration -q -p no:cacheprovider --iam-calls

e2e: $(STAMP) browser $(AXE)
	$(BIN)/python -m pytest tests/e2e

# The suite on a moved clock: a month's last minutes, the EU spring and the US autumn DST change.
# Every clock moves with it (libfaketime 0.9.10 breaks time.sleep when monotonic is left real).
# `-m` preloads the thread-safe libfaketimeMT: the suite runs HTTP servers and stamp pools on
# threads, and the plain library once crashed one (SIGSEGV in a server thread's select).
FAKE_DATES := @2027-01-31 23:57:00|@2027-03-28 00:57:00|@2027-11-07 05:45:00
faketime:
	@command -v faketime >/dev/null || { $(APT) update -qq && $(APT) install -y -qq faketime >/dev/null; }

test-dates: $(STAMP) faketime spamassassin
	@dates='$(FAKE_DATES)'; IFS='|'; failed=; for when in $$dates; do \
	  echo "== clock at $$when UTC"; \
	  TZ=UTC faketime -m -f "$$when" \
	    $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/integration \
	    || failed="$$failed $$when"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed at:$$failed"; exit 1; fi

demo: $(STAMP)
	$(BIN)/jobalerts demo --outbox out/demo

serve: $(STAMP)
	$(BIN)/jobalerts serve

# The attacks of issue 10 over real HTTP against the served API; exit 1 if any got through.
abuse: $(STAMP)
	$(BIN)/jobalerts abuse

bench: $(STAMP)
	$(BIN)/python -m bench

# jobalerts simulate on a seeded workload at fault rates 0, 0.05 and 0.2; prints the table.
# A day of traffic metered and costed (README "Scale and cost"); LOAD_SCALE=1 is the full day.
LOAD_SCALE ?= 0.02
load: $(STAMP)
	$(BIN)/jobalerts load --scale $(LOAD_SCALE)

# A full day's matches and digests at full scale, counted with the real matcher (no AWS).
volume: $(STAMP)
	$(BIN)/jobalerts volume --scale 1

chaos: $(STAMP)
	$(BIN)/python -m jobalerts_local.chaos --out out/chaos $(CHAOS_ARGS)

# Mutation testing of the modules the exactly-once promise rests on; slow, so never in `make test`.
# MUTATE_ARGS: e.g. `--module records --workers 2` or `--sample 40`.
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py $(MUTATE_ARGS)

# The layer installs exactly these pins (arm64, Python 3.12), so two builds of one commit ship the
# same bytes. Run after changing `dependencies` in pyproject.toml; a test checks they agree.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --quiet --python-version 3.12 \
	  --python-platform aarch64-manylinux2014 --generate-hashes --no-header \
	  --output-file layers/requirements.txt

build: $(SAM)
	PATH="$(SAM_PYTHON):$$PATH" $(SAM) build --template-file template.yaml

deploy: build
	$(SAM) deploy --guided

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .aws-sam out .pytest_cache .mypy_cache .ruff_cache
