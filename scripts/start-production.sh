#!/usr/bin/env bash
# npm run start:production: the production profile on this machine — the Temporal server on PostgreSQL (not the dev
# server), ClickHouse as a two-shard cluster behind Distributed tables, Redis with an append-only file, secrets read
# from files, links built from PUBLIC_BASE_URL / TEMPORAL_UI_URL — then the same API, worker and scraper as npm
# start (config/production.env; variables already set win). Its data lives in .local/production, its ports differ
# from npm start's, so both can run at once. `npm run stop:production` stops it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_production_env

# Secrets from files: given (*_FILE or the variable itself), or created once with random content (mode 600).
secret_file() {
  # secret_file VAR FILE — export VAR_FILE=FILE unless VAR or VAR_FILE is set; create FILE if missing
  local var=$1 file=$2
  if [ -n "${!var:-}" ]; then return; fi
  local fvar="${var}_FILE"
  if [ -n "${!fvar:-}" ]; then return; fi
  mkdir -p "$(dirname "$file")" && chmod 700 "$(dirname "$file")"
  [ -s "$file" ] || (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$file")
  export "$fvar=$file"
}
secret_file POSTGRES_PASSWORD "$LOCAL/secrets/postgres-password"
secret_file ALERT_LINK_SECRET "$LOCAL/secrets/link-secret"
export MONITORING_API_KEYS_FILE="${MONITORING_API_KEYS_FILE:-$LOCAL/credentials.json}"

# The second ClickHouse shard: its own folder and ports, the same cluster.
export CLICKHOUSE_CLUSTER_SHARDS="127.0.0.1:$CLICKHOUSE_TCP_PORT,127.0.0.1:$CLICKHOUSE_SHARD2_TCP_PORT"
export CLICKHOUSE_SHARD_URLS="$CLICKHOUSE_URL,$CLICKHOUSE_SHARD2_URL"
MONITORING_LOCAL_DIR="$LOCAL/shard2" CLICKHOUSE_URL="$CLICKHOUSE_SHARD2_URL" CLICKHOUSE_TCP_PORT="$CLICKHOUSE_SHARD2_TCP_PORT" \
  bash "$ROOT/scripts/services.sh" start clickhouse

export STOP_COMMAND="npm run stop:production"
exec bash "$ROOT/scripts/start.sh"
