#!/usr/bin/env bash
# Back up both PostgreSQL databases of the compose stack, at one moment, into backups/<time>/:
# Paydraw's (paydraw) and Temporal's (temporal, temporal_visibility), as pg_dump custom-format
# files. The API and the workers are stopped for the dump and started again, so the two sides
# agree: no step is recorded in one and not yet in the other.
#   scripts/backup.sh [directory]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-backups/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$target"

docker compose stop api worker
trap 'docker compose start api worker' EXIT
docker compose exec -T app-db pg_dump -U paydraw -Fc paydraw >"$target/paydraw.dump"
for database in temporal temporal_visibility; do
    docker compose exec -T temporal-db pg_dump -U temporal -Fc "$database" >"$target/$database.dump"
done
echo "backed up to $target"
