#!/usr/bin/env bash
# npm start: installs what is missing, starts ClickHouse, Redis and Temporal (with its Web UI), builds the code,
# then starts the API, the Temporal worker, local notification sinks (when no Slack/SMTP is configured) and
# (unless DEMO=0) the demo load, each in the background with logs
# and pid files under .local/. Idempotent: what already runs is left alone. `npm stop` stops all of it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
t0=$(date +%s)
ensure_node
ensure_node_modules
bash "$ROOT/scripts/services.sh" start

log "building (tsc)"
npx tsc -p tsconfig.build.json || die "build failed"

API_PORT="${API_PORT:-8080}"
API_HOST="${API_HOST:-127.0.0.1}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"

start_app() {
  # start_app NAME SCRIPT — one of our node processes, unless its pid file says it runs already
  if pid_alive "$LOCAL/pids/$1.pid"; then log "$1 already running (pid $(cat "$LOCAL/pids/$1.pid"))"; return; fi
  start_daemon "$1" node "$ROOT/dist/$2"
  log "$1 started (pid $(cat "$LOCAL/pids/$1.pid"), log $LOCAL/logs/$1.log)"
}

# Without a real Slack or SMTP, notifications go to local sinks that print them (with working ack links).
if [ -z "${SLACK_BOT_TOKEN:-}" ] || [ -z "${SMTP_URL:-}" ]; then
  start_app sinks scripts/local-sinks.js
  if [ -z "${SLACK_BOT_TOKEN:-}" ]; then
    export SLACK_BOT_TOKEN=xoxb-local SLACK_API_URL="http://127.0.0.1:${LOCAL_SLACK_PORT:-8234}/api/"
  fi
  export SMTP_URL="${SMTP_URL:-smtp://127.0.0.1:${LOCAL_SMTP_PORT:-2525}}"
  LOCAL_SINKS=1
fi

start_app api api/server.js
for ((i = 0; i < 300; i++)); do
  curl -fsS "http://$API_HOST:$API_PORT/healthz" >/dev/null 2>&1 && break
  pid_alive "$LOCAL/pids/api.pid" || die "the API exited; see $LOCAL/logs/api.log"
  sleep 0.1
done
curl -fsS "http://$API_HOST:$API_PORT/healthz" >/dev/null 2>&1 || die "the API did not answer on :$API_PORT; see $LOCAL/logs/api.log"
start_app worker workers/worker.js
start_app scraper workers/scraper.js
if [ "${DEMO:-1}" != "0" ]; then start_app demo scripts/demo-load.js; else stop_daemon demo; fi

sleep 1
for name in worker scraper demo sinks; do
  [ -f "$LOCAL/pids/$name.pid" ] && ! pid_alive "$LOCAL/pids/$name.pid" && die "$name exited; see $LOCAL/logs/$name.log"
done

cat <<MSG

performance-monitoring is up ($(($(date +%s) - t0)) s)
  API              http://$API_HOST:$API_PORT   (health: /healthz)
  Temporal Web UI  http://127.0.0.1:$TEMPORAL_UI_PORT   (schedule "evaluate-rules", alert workflows "alert/<fingerprint>")
  Temporal gRPC    ${TEMPORAL_ADDRESS:-127.0.0.1:7233}
  ClickHouse       ${CLICKHOUSE_URL:-http://127.0.0.1:8123}   database ${CLICKHOUSE_DATABASE:-monitoring}
  Redis            ${REDIS_URL:-redis://127.0.0.1:6379}
  Credentials      ${MONITORING_API_KEYS_FILE:-$LOCAL/credentials.json}   (Bearer tokens: admin, service, viewer)
  Logs             $LOCAL/logs/
  Notifications    $([ -n "${LOCAL_SINKS:-}" ] && echo "local sinks (no SLACK_BOT_TOKEN / SMTP_URL): Slack messages and e-mails with their ack links in $LOCAL/logs/sinks.log" || echo "Slack and SMTP as configured")
  Demo load        $([ "${DEMO:-1}" != "0" ] && echo "on (DEMO=0 to turn off); first incident in ~45 s, critical_cpu_usage fires ~1 min later" || echo off)

Try:  curl -H "Authorization: Bearer \$(node -p "require('$LOCAL/credentials.json').keys.find(k=>k.role==='service').token")" \\
        http://$API_HOST:$API_PORT/api/v1/internal/monitoring/health/ml-inference
Stop: ${STOP_COMMAND:-npm stop}
MSG
