#!/usr/bin/env bash
# Runs every check and test: formatting, clippy (warnings denied), the unit
# and integration tests against a real PostgreSQL, and the browser tests.
# Starts a throwaway PostgreSQL cluster when DATABASE_URL is not set.
# DATABASE_URL, when given, must be a role that may create databases and roles.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -z "${DATABASE_URL:-}" ]; then
  step "starting a throwaway PostgreSQL"
  pg_ensure_installed
  PGROOT=$(mktemp -d /tmp/bikri-test-pg.XXXXXX)
  chmod 755 "$PGROOT"
  PGDIR="$PGROOT/data"
  PGPORT=$(pg_free_port)
  cleanup() { pg_stop "$PGDIR"; rm -rf "$PGROOT"; }
  trap cleanup EXIT
  # fsync off: the cluster is thrown away, and tests create many databases.
  PG_FSYNC=off pg_start "$PGDIR" "$PGPORT"
  export DATABASE_URL=$(pg_url "$PGDIR" "$PGPORT" postgres)

fi

# pg_dump for the "no plaintext token in a dump" test.
pg_ensure_installed
export BIKRI_TEST_PG_BINDIR=${BIKRI_TEST_PG_BINDIR:-$(pg_bindir)}

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "unit and integration tests"
cargo nextest run --workspace --locked --no-fail-fast

if [ -f end2end/run.sh ]; then
  step "browser tests"
  bash end2end/run.sh
fi
