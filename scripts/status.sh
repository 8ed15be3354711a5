#!/usr/bin/env bash
# npm run status: what runs where.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
echo "servers:"
bash "$ROOT/scripts/services.sh" status
echo "processes:"
for name in api worker scraper demo; do
  if pid_alive "$LOCAL/pids/$name.pid"; then state="up    pid $(cat "$LOCAL/pids/$name.pid")"; else state="down"; fi
  printf '  %-12s %s   log %s\n' "$name" "$state" "$LOCAL/logs/$name.log"
done
echo "api: http://${API_HOST:-127.0.0.1}:${API_PORT:-8080}   credentials: ${MONITORING_API_KEYS_FILE:-$LOCAL/credentials.json}"
