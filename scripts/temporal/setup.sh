#!/usr/bin/env bash
# The Temporal server's setup steps, shared by scripts/services.sh (start:production, test:production) and the
# compose image's entrypoint (docker/temporal-entrypoint.sh), so both run the server the same way. Sourced.

# temporal_sed_escape VALUE — VALUE safe as a sed replacement with '#' as the delimiter.
temporal_sed_escape() { printf '%s' "$1" | sed -e 's/[\\&#]/\\&/g'; }

# temporal_yaml_single VALUE — VALUE inside a single-quoted YAML scalar (only ' needs escaping there: '').
temporal_yaml_single() { printf '%s' "$1" | sed -e "s/'/''/g"; }

# temporal_schema SQL_TOOL SCHEMA_DIR HOST PORT USER PASSWORD — creates the two databases and their schemas at the
# first start, and brings them to this server version's latest at every start (a no-op when current), as
# Temporal's own auto-setup does: update-schema fails only where no schema was set up yet.
temporal_schema() {
  local tool=$1 schemas=$2 host=$3 port=$4 user=$5 pw=$6 db schema
  local sql=("$tool" --plugin postgres12 --ep "$host" -p "$port" -u "$user" --pw "$pw")
  for db in temporal temporal_visibility; do
    schema=temporal; [ "$db" = "temporal_visibility" ] && schema=visibility
    if ! "${sql[@]}" --db "$db" update-schema -d "$schemas/$schema/versioned"; then
      "${sql[@]}" --db "$db" create-database || true
      "${sql[@]}" --db "$db" setup-schema -v 0.0 || return 1
      "${sql[@]}" --db "$db" update-schema -d "$schemas/$schema/versioned" || return 1
    fi
  done
}

# temporal_render_config TEMPLATE OUT PG_ADDR USER PASSWORD PORT BIND_IP BROADCAST_IP DYNAMIC_CONFIG — our server
# config (scripts/temporal/server.yaml) with its values: the frontend on PORT, the other services on PORT+1…+8, the
# Prometheus metrics on PORT+9 (mode 600: it holds the password).
temporal_render_config() {
  local template=$1 out=$2 pg=$3 user=$4 pw=$5 p=$6 bind=$7 broadcast=$8 dynamic=$9
  # The server keeps its membership ports in a PostgreSQL smallint.
  [ $((p + 9)) -le 32767 ] || { echo "Temporal port $p too high: the server needs $p…$((p + 9)) below 32768" >&2; return 1; }
  (umask 077 && sed -e "s#@PG_ADDR@#$(temporal_sed_escape "$pg")#g" -e "s#@PG_USER@#$(temporal_sed_escape "$(temporal_yaml_single "$user")")#g" \
    -e "s#@PG_PASSWORD@#$(temporal_sed_escape "$(temporal_yaml_single "$pw")")#g" \
    -e "s#@NUM_SHARDS@#${TEMPORAL_NUM_HISTORY_SHARDS:-4}#g" -e "s#@BIND_IP@#$bind#g" -e "s#@BROADCAST_IP@#$broadcast#g" \
    -e "s#@PORT_FRONTEND@#$p#g" -e "s#@PORT_FRONTEND_MEMBERSHIP@#$((p + 1))#g" \
    -e "s#@PORT_HISTORY@#$((p + 2))#g" -e "s#@PORT_HISTORY_MEMBERSHIP@#$((p + 3))#g" \
    -e "s#@PORT_MATCHING@#$((p + 4))#g" -e "s#@PORT_MATCHING_MEMBERSHIP@#$((p + 5))#g" \
    -e "s#@PORT_WORKER@#$((p + 6))#g" -e "s#@PORT_WORKER_MEMBERSHIP@#$((p + 7))#g" \
    -e "s#@PORT_FRONTEND_HTTP@#$((p + 8))#g" -e "s#@PORT_METRICS@#$((p + 9))#g" \
    -e "s#@DYNAMIC_CONFIG@#$(temporal_sed_escape "$dynamic")#g" "$template" >"$out")
}

# temporal_ui_config TEMPLATE DIR ADDRESS HOST PORT NAMESPACE — the Web UI server's config (scripts/temporal/ui.yaml
# filled in) as DIR/base.yaml, with the empty environment file DIR/profile.yaml it loads after it
# (ui-server --root DIR --config . --env profile).
temporal_ui_config() {
  local template=$1 dir=$2
  mkdir -p "$dir"
  sed -e "s#@TEMPORAL_ADDRESS@#$3#g" -e "s#@HOST@#$4#g" -e "s#@PORT@#$5#g" -e "s#@NAMESPACE@#$(temporal_sed_escape "$6")#g" "$template" >"$dir/base.yaml"
  echo "{}" >"$dir/profile.yaml"
}

# temporal_ready CLI ADDRESS NAMESPACE RETENTION SERVER_PID — waits until the cluster is serving, creates the
# namespace if it does not exist yet (it lives in PostgreSQL), and waits until it answers.
temporal_ready() {
  local cli=$1 address=$2 namespace=$3 retention=$4 pid=$5 i
  for ((i = 0; i < 240; i++)); do
    "$cli" operator cluster health --address "$address" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  if ! "$cli" operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
    "$cli" operator namespace create --address "$address" --namespace "$namespace" --retention "$retention" >/dev/null || return 1
  fi
  for ((i = 0; i < 60; i++)); do
    "$cli" workflow list --address "$address" --namespace "$namespace" --limit 1 >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
