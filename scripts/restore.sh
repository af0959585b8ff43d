#!/usr/bin/env bash
# Restore both PostgreSQL databases of the compose stack from a directory scripts/backup.sh made.
# Everything since that backup is lost, on both sides alike: Temporal's workflows go back to where
# they were then (a pay app submitted since is a draft again, a reminder due since is sent when
# the workers start), and Paydraw's records match them. Restore the two together, never one.
#   scripts/restore.sh backups/<time>
set -euo pipefail
cd "$(dirname "$0")/.."
source="${1:?name the backup directory}"
for dump in paydraw temporal temporal_visibility; do
    test -s "$source/$dump.dump" || { echo "no $source/$dump.dump" >&2; exit 1; }
done

docker compose stop proxy api worker temporal-ui temporal
docker compose exec -T app-db pg_restore -U paydraw -d paydraw --clean --if-exists \
    <"$source/paydraw.dump"
for database in temporal temporal_visibility; do
    docker compose exec -T temporal-db pg_restore -U temporal -d "$database" --clean --if-exists \
        <"$source/$database.dump"
done
docker compose up -d
echo "restored from $source"
