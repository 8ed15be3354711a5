#!/usr/bin/env bash
# npm test: installs what is missing (npm packages, ClickHouse, Redis, the Temporal CLI and test server), then
# runs jest. The servers themselves are started by jest's global setup on free ports, never the dev stack.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
ensure_node_modules
bash "$ROOT/scripts/services.sh" install
# The scraper tests scrape a real exporter.
command -v prometheus-node-exporter >/dev/null 2>&1 || apt_install prometheus-node-exporter
# The browser test drives Debian's Chromium (playwright-core, no bundled browser download).
command -v chromium >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ] || apt_install chromium
mkdir -p "$ROOT/.local"
results="$ROOT/.local/jest-results.json"
rm -f "$results"
set +e
(cd "$ROOT" && npx jest --json --outputFile="$results" "$@")
status=$?
set -e
if [ -f "$results" ]; then
  node -e 'const r = require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))' "$results"
fi
exit $status
