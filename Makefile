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

.PHONY: browser tools venv test lint typecheck cfn unit integration e2e demo serve bench build deploy clean

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

# The e2e tests drive Debian's headless Chromium; CI machines start without it.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The mail tests score every email with Debian's SpamAssassin (local rules, no network).
tools: browser
	@command -v spamassassin >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq spamassassin >/dev/null; }

test: lint typecheck cfn tools
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/jobalerts demo --outbox out/demo

serve: $(STAMP)
	$(BIN)/jobalerts serve

bench: $(STAMP)
	$(BIN)/python -m bench

build: $(SAM)
	PATH="$(SAM_PYTHON):$$PATH" $(SAM) build --template-file template.yaml

deploy: build
	$(SAM) deploy --guided

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam out .pytest_cache .mypy_cache .ruff_cache
