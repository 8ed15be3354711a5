#!/usr/bin/env bash
# promqltest.sh — prints the directory of Prometheus' PromQL test scripts (promql/promqltest/testdata), fetching the
# prometheus/prometheus Go module from the Go module proxy into Go's module cache the first time (about 20 MB; the
# scripts are Prometheus' own, Apache-2.0, and are read from the cache, never copied into this repository).
# PROMETHEUS_MODULE_VERSION picks the module version (v0.316.0: Prometheus 3.x's language).
set -euo pipefail
version="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
command -v go >/dev/null 2>&1 || { echo "promqltest: the go command is needed to fetch Prometheus' test scripts (apt-get install golang-go)" >&2; exit 1; }
dir="$(go env GOMODCACHE)/github.com/prometheus/prometheus@$version/promql/promqltest/testdata"
if [ ! -d "$dir" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && GOFLAGS=-mod=mod go mod download "github.com/prometheus/prometheus@$version") >&2
fi
[ -d "$dir" ] || { echo "promqltest: $dir missing after go mod download" >&2; exit 1; }
echo "$dir"
