#!/usr/bin/env bash
# A longer fuzzing run over every operation of the OpenAPI document (tests/api/test_fuzz.py):
# N examples per operation, 1000 unless given.
set -euo pipefail
cd "$(dirname "$0")/.."
PAYDRAW_FUZZ_EXAMPLES="${1:-1000}" python3 -m uv run pytest tests/api/test_fuzz.py -q
