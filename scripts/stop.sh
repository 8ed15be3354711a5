#!/usr/bin/env bash
# npm stop: stops what npm start started (demo, worker, API, then the servers), leaving data in .local/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stop_daemon demo
stop_daemon scraper
stop_daemon worker
stop_daemon api
stop_daemon sinks
bash "$ROOT/scripts/services.sh" stop
log "stopped"
