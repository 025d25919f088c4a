#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: release builds, a private PostgreSQL with
# fsync on (a 200 must mean durably stored), then `bikri-bench run`.
#   bench/run.sh                 full run (about 20 minutes), writes BENCHMARKS.md
#   BENCH_QUICK=1 bench/run.sh   short smoke run, writes bench/results/BENCHMARKS.quick.md
#   BENCH_ONLY=ingest,e2e bench/run.sh   only some sections (written to bench/results/BENCHMARKS.partial.md)
#   BENCH_NO_FASTAPI=1 bench/run.sh      skip the FastAPI reference of the ingest section
#                                        (the report says it did not run)
# The ingest section compares against a FastAPI reference receiver
# (bench/fastapi_reference/), installed from PyPI into bench/.venv with the
# pinned versions of its requirements.txt (reused while they are unchanged).
# Builds go to $CARGO_TARGET_DIR when it is set, else ./target.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
pg_ensure_installed

cargo build --release -p bikriagent-server -p bikriagent-bench --bin bikriagent --bin bikri-bench
BIN=${CARGO_TARGET_DIR:-target}/release

ARGS=()
if [ -z "${BENCH_NO_FASTAPI:-}" ] && { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *,ingest,* ]]; }; then
  VENV=bench/.venv
  REQS=bench/fastapi_reference/requirements.txt
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if ! cmp -s "$REQS" "$VENV/.installed-requirements.txt"; then
    echo "installing the FastAPI reference's packages into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    cp "$REQS" "$VENV/.installed-requirements.txt"
  fi
  ARGS+=(--fastapi-python "$VENV/bin/python" --fastapi-app bench/fastapi_reference)
fi

mkdir -p bench/results
PGDIR=$(mktemp -d /tmp/bikri-bench-pg.XXXXXX)
chmod 755 "$PGDIR"
cleanup() { pg_stop "$PGDIR/data"; rm -rf "$PGDIR"; }
trap cleanup EXIT
PGPORT=$(pg_free_port)
# pg_stat_statements: the report lists the statements the pipeline runs per message.
PG_FSYNC=on PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements" pg_start "$PGDIR/data" "$PGPORT"
ADMIN_URL=$(pg_url "$PGDIR/data" "$PGPORT" postgres)

OUT=BENCHMARKS.md
if [ -n "${BENCH_QUICK:-}" ]; then ARGS+=(--quick); OUT=bench/results/BENCHMARKS.quick.md; fi
if [ -n "${BENCH_ONLY:-}" ]; then ARGS+=(--only "$BENCH_ONLY"); OUT=bench/results/BENCHMARKS.partial.md; fi

"$BIN/bikri-bench" run --admin-url "$ADMIN_URL" --server-bin "$BIN/bikriagent" \
  --pg-log "$PGDIR/data/server.log" --results bench/results --out "$OUT" "${ARGS[@]}"
