#!/usr/bin/env bash
# services.sh install|start|stop|status [names] — the servers the module runs on (ClickHouse, Redis, Temporal, and
# PostgreSQL under the Temporal server when TEMPORAL_BACKEND=postgresql).
# Ports come from the same env as the app (CLICKHOUSE_URL, REDIS_URL, TEMPORAL_ADDRESS, TEMPORAL_UI_PORT);
# data, logs and pids go under $MONITORING_LOCAL_DIR (default .local/). Idempotent: a server that already
# answers on its port is left alone. The test setup calls this with free ports and a temporary dir.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/temporal/setup.sh"

CH_URL="${CLICKHOUSE_URL:-http://127.0.0.1:8123}"
CH_HTTP_PORT="${CH_URL##*:}"; CH_HTTP_PORT="${CH_HTTP_PORT%%/*}"
CH_TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
REDIS_PORT="${REDIS_URL:-redis://127.0.0.1:6379}"; REDIS_PORT="${REDIS_PORT##*:}"; REDIS_PORT="${REDIS_PORT%%/*}"
TEMPORAL_PORT="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"; TEMPORAL_PORT="${TEMPORAL_PORT##*:}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# TEMPORAL_BACKEND: dev (the CLI's dev server on SQLite, local default) or postgresql (the Temporal server on
# PostgreSQL, the production profile). PostgreSQL listens on POSTGRES_PORT; the Temporal server's database user is
# POSTGRES_USER with POSTGRES_PASSWORD (or the file POSTGRES_PASSWORD_FILE; generated into $LOCAL/secrets if neither).
TEMPORAL_BACKEND="${TEMPORAL_BACKEND:-dev}"
PG_PORT="${POSTGRES_PORT:-5432}"
PG_USER="${POSTGRES_USER:-temporal}"
# Tests want throwaway servers: in-memory Temporal without UI, Redis without persistence.
EPHEMERAL="${MONITORING_EPHEMERAL:-0}"

install_all() {
  ensure_clickhouse
  ensure_redis
  ensure_temporal
  if [ "$TEMPORAL_BACKEND" = "postgresql" ]; then ensure_postgresql; ensure_temporal_server; ensure_temporal_ui; fi
  # The weekly report's charts are rendered to PNG with DejaVu Sans (without it their text would be blank).
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core
  # Prometheus' own tools are the tests' clients of the query API (promtool query); Debian's prometheus has them.
  command -v promtool >/dev/null 2>&1 || apt_install prometheus
  # amtool (Alertmanager's client) is the tests' client of our Alertmanager API v2.
  command -v amtool >/dev/null 2>&1 || apt_install prometheus-alertmanager
  # node-exporter: a real exporter whose expositions (both formats) the tests parse and scrape.
  command -v prometheus-node-exporter >/dev/null 2>&1 || apt_install prometheus-node-exporter
  # nats-server (JetStream): the alert event stream's broker in the tests.
  command -v nats-server >/dev/null 2>&1 || apt_install nats-server
  # moto: the AWS emulator (CloudWatch's API) the CloudWatch collector's tests run against.
  ensure_moto
  # Kafka (KRaft): the alert stream's Kafka publisher's broker in the tests.
  ensure_kafka
  # The Python client (OpenMetrics' reference implementation) writes OpenMetrics for the parser's tests.
  ensure_prometheus_client_python
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
  # REDIS_APPENDONLY=yes (the production profile): every write in the append-only file, synced each second.
  [ "${REDIS_APPENDONLY:-no}" = "yes" ] && persist=(--save "60 1000" --appendonly yes --appendfsync everysec)
  start_daemon redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$LOCAL/redis" "${persist[@]}"
  wait_port 127.0.0.1 "$REDIS_PORT" 20 Redis
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

start_temporal() {
  if port_open 127.0.0.1 "$TEMPORAL_PORT"; then log "Temporal already answers on :$TEMPORAL_PORT"; return; fi
  local bin; bin=$(temporal_bin) || die "no temporal CLI — run: npm run services -- install"
  mkdir -p "$LOCAL"
  # The priority matcher: evaluation and critical alerts' tasks go before a storm's (core/types.ts TASK_PRIORITY).
  local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --namespace "$TEMPORAL_NAMESPACE" --log-level warn
    --dynamic-config-value matching.useNewMatcher=true
    # A group of thousands of alerts carries more than the default 2 MB when it continues as new (dynamicconfig.yaml).
    --dynamic-config-value limit.blobSize.error=33554432 --dynamic-config-value limit.blobSize.warn=8388608)
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

pg_password() {
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then printf '%s' "$POSTGRES_PASSWORD"; return; fi
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then tr -d '\n' <"$POSTGRES_PASSWORD_FILE"; return; fi
  local f="$LOCAL/secrets/postgres-password"
  if [ ! -s "$f" ]; then
    mkdir -p "$LOCAL/secrets" && chmod 700 "$LOCAL/secrets"
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$f")
  fi
  cat "$f"
}

start_postgres() {
  if port_open 127.0.0.1 "$PG_PORT"; then log "PostgreSQL already answers on :$PG_PORT"; return; fi
  local bin; bin=$(pg_bindir) || die "no PostgreSQL — run: TEMPORAL_BACKEND=postgresql npm run services -- install"
  local dir="$LOCAL/postgres"
  mkdir -p "$dir/run" "$LOCAL/logs"
  # As root, the postgres user must reach its folder (a test's mkdtemp folder is 0700).
  if is_root; then chown postgres:postgres "$dir" "$dir/run"; chmod o+x "$LOCAL"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    # The superuser connects over the Unix socket only (trust: whoever may read $dir); TCP needs a password.
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null \
      || die "initdb failed for $dir/data"
  fi
  local opts="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$dir/run -c max_connections=200"
  # Throwaway servers (tests) trade durability for speed; the local and production profiles keep it.
  [ "$EPHEMERAL" = "1" ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  touch "$LOCAL/logs/postgres.log" && { is_root && chown postgres "$LOCAL/logs/postgres.log" || true; }
  as_postgres "$bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$LOCAL/logs/postgres.log" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start; see $LOCAL/logs/postgres.log"
  # The Temporal server's role: created once, its password (re)set from the configured secret at every start.
  printf '%s\n' "SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \\gexec" \
    "SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'pw') \\gexec" |
    as_postgres "$bin/psql" -q -X -v ON_ERROR_STOP=1 -h "$dir/run" -p "$PG_PORT" -U postgres -d postgres -v user="$PG_USER" -v pw="$(pg_password)" >/dev/null \
    || die "could not create the PostgreSQL role $PG_USER"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  local bin dir="$LOCAL/postgres"
  bin=$(pg_bindir) || return 0
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 && log "stopped PostgreSQL" || true
}

start_temporal_server() {
  if port_open 127.0.0.1 "$TEMPORAL_PORT"; then log "Temporal already answers on :$TEMPORAL_PORT"; return; fi
  start_postgres
  local sdir; sdir=$(temporal_server_dir)
  local dir="$LOCAL/temporal-server" pw; pw=$(pg_password)
  mkdir -p "$dir"
  temporal_schema "$sdir/bin/sql" "$sdir/schema" 127.0.0.1 "$PG_PORT" "$PG_USER" "$pw" >>"$LOCAL/logs/temporal-schema.log" 2>&1 \
    || die "temporal-sql-tool could not set up the schemas; see $LOCAL/logs/temporal-schema.log"
  local bind="${TEMPORAL_BIND_IP:-127.0.0.1}"
  temporal_render_config "$ROOT/scripts/temporal/server.yaml" "$dir/config.yaml" "127.0.0.1:$PG_PORT" "$PG_USER" "$pw" \
    "$TEMPORAL_PORT" "$bind" 127.0.0.1 "$ROOT/scripts/temporal/dynamicconfig.yaml" || die "bad Temporal port $TEMPORAL_PORT"
  start_daemon temporal "$sdir/bin/server" --config-file "$dir/config.yaml" --allow-no-auth start
  wait_port 127.0.0.1 "$TEMPORAL_PORT" 90 "Temporal server"
  local cli; cli=$(temporal_bin) || die "no temporal CLI — run: npm run services -- install"
  if ! temporal_ready "$cli" "127.0.0.1:$TEMPORAL_PORT" "$TEMPORAL_NAMESPACE" "${TEMPORAL_RETENTION:-72h}" "$(cat "$LOCAL/pids/temporal.pid")"; then
    tail -3 "$LOCAL/logs/temporal.log" | cut -c1-300 >&2
    die "the Temporal server did not become ready; see $LOCAL/logs/temporal.log"
  fi
  local p=$TEMPORAL_PORT
  log "Temporal server $TEMPORAL_SERVER_VERSION on PostgreSQL, 127.0.0.1:$p (metrics :$((p + 9)))"
  # Its Web UI, as the dev server has one: unless a throwaway server (tests) does not ask for it.
  if [ "$EPHEMERAL" != "1" ] || [ "${TEMPORAL_UI:-0}" = "1" ]; then start_temporal_ui; fi
}

start_temporal_ui() {
  if port_open 127.0.0.1 "$TEMPORAL_UI_PORT"; then log "Temporal Web UI already answers on :$TEMPORAL_UI_PORT"; return; fi
  local dir="$LOCAL/temporal-ui"
  temporal_ui_config "$ROOT/scripts/temporal/ui.yaml" "$dir" "127.0.0.1:$TEMPORAL_PORT" "${TEMPORAL_BIND_IP:-127.0.0.1}" "$TEMPORAL_UI_PORT" "$TEMPORAL_NAMESPACE"
  start_daemon temporal-ui "$(temporal_ui_bin)" --root "$dir" --config . --env profile start
  wait_port 127.0.0.1 "$TEMPORAL_UI_PORT" 30 "Temporal Web UI"
  log "Temporal Web UI http://127.0.0.1:$TEMPORAL_UI_PORT"
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
    if wants temporal; then
      if [ "$TEMPORAL_BACKEND" = "postgresql" ]; then start_temporal_server; else start_temporal; fi
    fi
    if wants postgres; then start_postgres; fi
    ;;
  stop)
    if wants temporal; then stop_daemon temporal-ui; stop_daemon temporal; fi
    if wants postgres || { wants temporal && [ "$TEMPORAL_BACKEND" = "postgresql" ]; }; then stop_postgres; fi
    if wants redis; then stop_daemon redis; fi
    if wants clickhouse; then stop_daemon clickhouse; fi
    ;;
  status)
    status_line clickhouse 127.0.0.1 "$CH_HTTP_PORT"
    status_line redis 127.0.0.1 "$REDIS_PORT"
    status_line temporal 127.0.0.1 "$TEMPORAL_PORT"
    [ "$TEMPORAL_BACKEND" = "postgresql" ] && status_line postgres 127.0.0.1 "$PG_PORT"
    [ "$EPHEMERAL" = "1" ] || status_line temporal-ui 127.0.0.1 "$TEMPORAL_UI_PORT"
    ;;
  *) echo "usage: $0 install|start|stop|status [clickhouse] [redis] [temporal] [postgres] (install also: victoria-metrics)" >&2; exit 2 ;;
esac
