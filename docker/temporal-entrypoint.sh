#!/usr/bin/env bash
# The compose image's entrypoint (docker/temporal.Dockerfile). `server`: set up or update the schemas in PostgreSQL,
# render our config, start the Temporal server, create the namespace. `ui`: the Web UI server for TEMPORAL_ADDRESS.
# Env: POSTGRES_HOST, POSTGRES_PORT (5432), POSTGRES_USER, POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD),
# TEMPORAL_NAMESPACE (default), TEMPORAL_RETENTION (72h); for `ui` TEMPORAL_ADDRESS and TEMPORAL_UI_PORT (8233).
set -euo pipefail
source /etc/temporal/setup.sh
case "${1:-server}" in
  server)
    pw="${POSTGRES_PASSWORD:-}"
    [ -n "$pw" ] || pw=$(tr -d '\n' <"${POSTGRES_PASSWORD_FILE:?POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD is required}")
    temporal_schema temporal-sql-tool /etc/temporal/schema "${POSTGRES_HOST:?}" "${POSTGRES_PORT:-5432}" "${POSTGRES_USER:?}" "$pw"
    # Other containers reach the frontend by this container's address.
    temporal_render_config /etc/temporal/server.yaml "$HOME/config.yaml" "$POSTGRES_HOST:${POSTGRES_PORT:-5432}" "$POSTGRES_USER" "$pw" \
      7233 0.0.0.0 "$(hostname -i | awk '{print $1}')" /etc/temporal/dynamicconfig.yaml
    temporal-server --config-file "$HOME/config.yaml" --allow-no-auth start &
    server=$!
    temporal_ready temporal "127.0.0.1:7233" "${TEMPORAL_NAMESPACE:-default}" "${TEMPORAL_RETENTION:-72h}" "$server"
    wait "$server"
    ;;
  ui)
    temporal_ui_config /etc/temporal/ui.yaml "$HOME/ui" "${TEMPORAL_ADDRESS:?}" 0.0.0.0 "${TEMPORAL_UI_PORT:-8233}" "${TEMPORAL_NAMESPACE:-default}"
    exec ui-server --root "$HOME/ui" --config . --env profile start
    ;;
  *) exec "$@" ;;
esac
