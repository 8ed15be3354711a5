#!/usr/bin/env bash
# services.sh install|start|stop|status [names] — the three servers the module runs on (ClickHouse, Redis, Temporal).
# Ports come from the same env as the app (CLICKHOUSE_URL, REDIS_URL, TEMPORAL_ADDRESS, TEMPORAL_UI_PORT);
# data, logs and pids go under $MONITORING_LOCAL_DIR (default .local/). Idempotent: a server that already
# answers on its port is left alone. The test setup calls this with free ports and a temporary dir.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CH_URL="${CLICKHOUSE_URL:-http://127.0.0.1:8123}"
CH_HTTP_PORT="${CH_URL##*:}"; CH_HTTP_PORT="${CH_HTTP_PORT%%/*}"
CH_TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
REDIS_PORT="${REDIS_URL:-redis://127.0.0.1:6379}"; REDIS_PORT="${REDIS_PORT##*:}"; REDIS_PORT="${REDIS_PORT%%/*}"
TEMPORAL_PORT="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"; TEMPORAL_PORT="${TEMPORAL_PORT##*:}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# Tests want throwaway servers: in-memory Temporal without UI, Redis without persistence.
EPHEMERAL="${MONITORING_EPHEMERAL:-0}"

install_all() {
  ensure_clickhouse
  ensure_redis
  ensure_temporal
  # The weekly report's charts are rendered to PNG with DejaVu Sans (without it their text would be blank).
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core
}

start_clickhouse() {
  if port_open 127.0.0.1 "$CH_HTTP_PORT"; then log "ClickHouse already answers on :$CH_HTTP_PORT"; return; fi
  local dir="$LOCAL/clickhouse"
  mkdir -p "$dir/data/log" "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas"
  sed -e "s#@DATA@#$dir/data#g" -e "s#@HTTP_PORT@#$CH_HTTP_PORT#g" -e "s#@TCP_PORT@#$CH_TCP_PORT#g" \
    "$ROOT/scripts/clickhouse/config.xml" >"$dir/config.xml"
  cp "$ROOT/scripts/clickhouse/users.xml" "$dir/users.xml"
  write_clickhouse_cluster "$dir"
  local py; py=$(clickhouse_python) || die "no ClickHouse engine — run: npm run services -- install"
  start_daemon clickhouse "$py" "$ROOT/scripts/clickhouse/embedded.py" "$dir"
  wait_port 127.0.0.1 "$CH_HTTP_PORT" 60 ClickHouse
  # The port opens before the engine has loaded its tables; ready is when a query answers.
  local i
  for ((i = 0; i < 200; i++)); do
    curl -fsS "http://127.0.0.1:$CH_HTTP_PORT/?query=SELECT%201" >/dev/null 2>&1 && break
    pid_alive "$LOCAL/pids/clickhouse.pid" || die "ClickHouse exited; see $LOCAL/logs/clickhouse.log"
    sleep 0.1
  done
  log "ClickHouse $(curl -fsS "http://127.0.0.1:$CH_HTTP_PORT/?query=SELECT%20version()%20FORMAT%20TSV" 2>/dev/null) (embedded engine) on http://127.0.0.1:$CH_HTTP_PORT"
}

# A server of a sharded deployment (DESIGN.md's cluster path, without replication): CLICKHOUSE_CLUSTER names the
# cluster and CLICKHOUSE_CLUSTER_SHARDS lists every shard's host:tcp_port; each server gets the same remote_servers.
write_clickhouse_cluster() {
  local dir="$1"
  rm -f "$dir/config.d/cluster.xml"
  [ -n "${CLICKHOUSE_CLUSTER:-}" ] && [ -n "${CLICKHOUSE_CLUSTER_SHARDS:-}" ] || return 0
  mkdir -p "$dir/config.d"
  {
    echo "<clickhouse><remote_servers><$CLICKHOUSE_CLUSTER>"
    local shard
    for shard in ${CLICKHOUSE_CLUSTER_SHARDS//,/ }; do
      echo "<shard><replica><host>${shard%:*}</host><port>${shard##*:}</port></replica></shard>"
    done
    echo "</$CLICKHOUSE_CLUSTER></remote_servers></clickhouse>"
  } >"$dir/config.d/cluster.xml"
}

start_redis() {
  if port_open 127.0.0.1 "$REDIS_PORT"; then log "Redis already answers on :$REDIS_PORT"; return; fi
  mkdir -p "$LOCAL/redis"
  local persist=(--save "" --appendonly no)
  [ "$EPHEMERAL" = "1" ] || persist=(--save "60 1000" --appendonly no)
  start_daemon redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$LOCAL/redis" "${persist[@]}"
  wait_port 127.0.0.1 "$REDIS_PORT" 20 Redis
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

start_temporal() {
  if port_open 127.0.0.1 "$TEMPORAL_PORT"; then log "Temporal already answers on :$TEMPORAL_PORT"; return; fi
  local bin; bin=$(temporal_bin) || die "no temporal CLI — run: npm run services -- install"
  mkdir -p "$LOCAL"
  local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --namespace "$TEMPORAL_NAMESPACE" --log-level warn)
  # Ephemeral servers (tests, benchmarks) keep nothing and run without the Web UI unless TEMPORAL_UI=1 asks for it
  # (the browser test follows links into it).
  if [ "$EPHEMERAL" = "1" ]; then
    if [ "${TEMPORAL_UI:-0}" = "1" ]; then args+=(--ui-port "$TEMPORAL_UI_PORT"); else args+=(--headless); fi
  else
    args+=(--ui-port "$TEMPORAL_UI_PORT" --db-filename "$LOCAL/temporal.db")
  fi
  start_daemon temporal "$bin" "${args[@]}"
  wait_port 127.0.0.1 "$TEMPORAL_PORT" 60 Temporal
  # The frontend port opens before the namespace is registered; wait until the cluster says it is serving.
  local i
  for ((i = 0; i < 120; i++)); do
    "$bin" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1 && break
    sleep 0.5
  done
  log "Temporal on 127.0.0.1:$TEMPORAL_PORT$([ "$EPHEMERAL" = "1" ] && [ "${TEMPORAL_UI:-0}" != "1" ] || echo ", Web UI http://127.0.0.1:$TEMPORAL_UI_PORT")"
}

status_line() {
  # status_line NAME HOST PORT
  local state="down" pid=""
  port_open "$2" "$3" && state="up"
  pid_alive "$LOCAL/pids/$1.pid" && pid=" (pid $(cat "$LOCAL/pids/$1.pid"), started by us)"
  printf '  %-12s %-5s %s:%s%s\n' "$1" "$state" "$2" "$3" "$pid"
}

# Optional names after the command limit it to those servers (tests start a private ClickHouse to stop it).
names=("${@:2}")
[ ${#names[@]} -gt 0 ] || names=(clickhouse redis temporal)
wants() { [[ " ${names[*]} " == *" $1 "* ]]; }

case "${1:-}" in
  install)
    install_all
    # Baselines the benchmarks measure against, installed like the services when a bench names them.
    if wants victoria-metrics; then command -v victoria-metrics >/dev/null 2>&1 || apt_install victoria-metrics; fi
    ;;
  start)
    install_all
    if wants clickhouse; then start_clickhouse; fi
    if wants redis; then start_redis; fi
    if wants temporal; then start_temporal; fi
    ;;
  stop)
    if wants temporal; then stop_daemon temporal; fi
    if wants redis; then stop_daemon redis; fi
    if wants clickhouse; then stop_daemon clickhouse; fi
    ;;
  status)
    status_line clickhouse 127.0.0.1 "$CH_HTTP_PORT"
    status_line redis 127.0.0.1 "$REDIS_PORT"
    status_line temporal 127.0.0.1 "$TEMPORAL_PORT"
    [ "$EPHEMERAL" = "1" ] || status_line temporal-ui 127.0.0.1 "$TEMPORAL_UI_PORT"
    ;;
  *) echo "usage: $0 install|start|stop|status [clickhouse] [redis] [temporal] (install also: victoria-metrics)" >&2; exit 2 ;;
esac
