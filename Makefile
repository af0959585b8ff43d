# Two commands do all the set-up on a fresh machine that has Python and pip:
#   make run    start Paydraw
#   make test   run every test and check
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: setup run demo test test-quick lint bench bench-lifecycle bench-pages bench-pdf \
	bench-first-of-month bench-invite-scaling fuzz

setup:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet
	@bash scripts/ensure-pdf-libs.sh

run: setup
	$(UV) run paydraw run

demo: setup
	$(UV) run paydraw run --demo

bench: setup
	$(UV) run python -m benchmarks.invites

bench-lifecycle: setup
	$(UV) run python -m benchmarks.lifecycle

bench-pages: setup
	$(UV) run python -m benchmarks.pages

bench-pdf: setup
	$(UV) run python -m benchmarks.pdf

bench-first-of-month: setup
	$(UV) run python -m benchmarks.first_of_month

bench-invite-scaling: setup
	$(UV) run python -m benchmarks.invite_scaling

fuzz: setup
	bash scripts/fuzz.sh

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy --no-incremental
	$(UV) run lint-imports

test: lint
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(UV) run pytest

# The tests without the slow ones (killed and restarted processes, long random walks) and without
# the lint: what to run while you work; make test runs everything.
test-quick: setup
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(UV) run pytest -m "not slow"
