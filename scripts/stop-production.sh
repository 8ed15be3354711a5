#!/usr/bin/env bash
# npm run stop:production: stops what npm run start:production started, leaving its data in .local/production.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_production_env
bash "$ROOT/scripts/stop.sh"
MONITORING_LOCAL_DIR="$LOCAL/shard2" bash "$ROOT/scripts/services.sh" stop clickhouse
