#!/usr/bin/env bash
# node.sh FILE ARGS… — runs a compiled script on the project's Node (>= 22 LTS, installed by ensure_node if missing).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node
exec node "$@"
