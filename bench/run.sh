#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: release builds, a private PostgreSQL with
# fsync on (a 200 must mean durably stored), then `bikri-bench run`.
#   bench/run.sh                 full run (about 15 minutes), writes BENCHMARKS.md
#   BENCH_QUICK=1 bench/run.sh   short smoke run, writes bench/results/BENCHMARKS.quick.md
#   BENCH_ONLY=ingest,e2e bench/run.sh   only some sections (written to bench/results/)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
pg_ensure_installed

cargo build --release -p bikriagent-server -p bikriagent-bench --bin bikriagent --bin bikri-bench

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
ARGS=()
if [ -n "${BENCH_QUICK:-}" ]; then ARGS+=(--quick); OUT=bench/results/BENCHMARKS.quick.md; fi
if [ -n "${BENCH_ONLY:-}" ]; then ARGS+=(--only "$BENCH_ONLY"); OUT=bench/results/BENCHMARKS.partial.md; fi

./target/release/bikri-bench run --admin-url "$ADMIN_URL" --server-bin ./target/release/bikriagent \
  --pg-log "$PGDIR/data/server.log" --results bench/results --out "$OUT" "${ARGS[@]}"
