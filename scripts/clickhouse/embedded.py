"""embedded.py DIR — serves ClickHouse's HTTP (and native TCP) interface from the ClickHouse engine of the PyPI
wheel `chdb-core` (clickhouse-local as a library), with the config.xml that scripts/services.sh wrote into DIR.

clickhouse-local reads config.xml from its working directory when it starts; `SYSTEM START LISTEN` opens the
listeners of that config, which live as long as the statement batch that opened them runs, so the batch ends with
a query that never finishes (one row a second into the Null format: no memory grows). Stopping the process (SIGTERM)
closes the listeners; data is on disk per inserted part. One process per data directory (it holds a lock on it).
"""
import os
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: embedded.py DIR (a folder holding config.xml)")
    os.chdir(sys.argv[1])
    from chdb import _chdb  # noqa: E402 — after chdir: the engine reads ./config.xml on its first query

    listeners = ["SYSTEM START LISTEN HTTP"]
    if os.environ.get("CLICKHOUSE_TCP", "1") == "1":
        listeners.append("SYSTEM START LISTEN TCP")
    keep_alive = "SELECT sleepEachRow(1) FROM system.numbers SETTINGS max_block_size = 1, max_execution_time = 0 FORMAT Null"
    _chdb.query("; ".join(listeners + [keep_alive]), "CSV")


if __name__ == "__main__":
    main()
