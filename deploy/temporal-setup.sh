#!/bin/sh
# Temporal's one-shot jobs in docker-compose.yml, run in temporalio/admin-tools:
#   temporal-setup.sh schema      create the two databases and bring both schemas up to date
#   temporal-setup.sh namespace   register the namespace the workers use, unless it exists
# Both may run again on every start: they change nothing that is already current.
set -eu

schema() {
    sql="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_HOST} -u ${POSTGRES_USER} -p 5432"
    versions=/etc/temporal/schema/postgresql/v12
    for pair in temporal:temporal temporal_visibility:visibility; do
        database=${pair%%:*}
        schema_dir=${pair##*:}
        $sql --db "$database" create || echo "database $database already there"
        # The base schema once; its tables already there make it fail, and that is fine.
        $sql --db "$database" setup-schema -v 0.0 || echo "schema of $database already set up"
        $sql --db "$database" update-schema -d "$versions/$schema_dir/versioned"
    done
}

namespace() {
    until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
        sleep 2
    done
    if temporal operator namespace describe --namespace "$NAMESPACE" \
        --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
        echo "namespace $NAMESPACE already there"
    else
        temporal operator namespace create --namespace "$NAMESPACE" --retention 30d \
            --address "$TEMPORAL_ADDRESS"
    fi
}

"$1"
