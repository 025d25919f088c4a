#!/usr/bin/env bash
# Browser test: a real headless Chromium (JavaScript disabled) signs up,
# confirms the email through the local mailbox, logs in and out.
#
# Installs what is missing (Debian's chromium and chromium-driver, Python's
# selenium), builds the binary, starts a throwaway PostgreSQL unless
# DATABASE_URL is set (then a uniquely named database is created on that
# server and dropped at the end), starts the app on a free port, runs
# end2end/test_signup_login.py and cleans everything up on exit.
# Exits non-zero when a check fails; the last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh

started=$(date +%s)
say() { printf '[e2e] %s\n' "$*"; }

# --- tools ------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: /usr/bin/chromium or /usr/bin/chromedriver is missing; install the Debian packages chromium and chromium-driver" >&2
    exit 1
  fi
  say "installing chromium and chromium-driver (Debian packages)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! python3 -c 'import selenium' >/dev/null 2>&1; then
  say "installing selenium (PyPI)..."
  python3 -m pip install --quiet selenium
fi

say "building the binary..."
# `cargo test --no-run` resolves features as the test suite does (dev
# dependencies included), so after scripts/test.sh has run the tests this
# builds nothing and reuses their target/debug/bikriagent. A plain
# `cargo build --bin bikriagent` resolves them without dev dependencies and
# recompiles some fifty crates a second time: minutes of CI and 1.4 GB of disk.
cargo test --no-run --locked --workspace
BIN="${CARGO_TARGET_DIR:-target}/debug/bikriagent"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac

# --- throwaway state and cleanup ---------------------------------------------
WORK=$(mktemp -d /tmp/bikri-e2e.XXXXXX)
chmod 755 "$WORK"
PGDIR="$WORK/pg"
MAILBOX="$WORK/mailbox"
APPLOG="$WORK/app.log"
mkdir -p "$MAILBOX"
APP_PID=""
META_PID=""
OWN_PG=""
EXTERNAL_DB=""
ADMIN_URL=""

psql_bin() {
  if command -v psql >/dev/null 2>&1; then command -v psql
  elif bindir=$(pg_bindir); then echo "$bindir/psql"
  else return 1; fi
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "$META_PID" ]; then kill "$META_PID" 2>/dev/null; fi
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$APP_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -0 "$APP_PID" 2>/dev/null && kill -9 "$APP_PID" 2>/dev/null
    wait "$APP_PID" 2>/dev/null
  fi
  if [ "$rc" -ne 0 ] && [ -s "$APPLOG" ]; then
    echo "----- last 60 lines of the app's log ($APPLOG) -----" >&2
    tail -n 60 "$APPLOG" >&2
    echo "-----------------------------------------------------" >&2
  fi
  if [ -n "$EXTERNAL_DB" ]; then
    "$(psql_bin)" "$ADMIN_URL" -qtA -v ON_ERROR_STOP=1 \
      -c "drop database if exists \"$EXTERNAL_DB\" with (force)" >/dev/null \
      || echo "warning: could not drop database $EXTERNAL_DB" >&2
  fi
  if [ -n "$OWN_PG" ]; then pg_stop "$PGDIR"; fi
  # Keep the test's "N passed, N failed" line last, where CI reads it.
  local summary=""
  if [ "$rc" -ne 0 ]; then
    say "failed after $(( $(date +%s) - started ))s (exit $rc)"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/test.out" 2>/dev/null | tail -n 1 || true)
  fi
  rm -rf "$WORK"
  if [ -n "$summary" ]; then echo "$summary"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- database ------------------------------------------------------------------
DB_NAME="bikri_e2e_$(date +%s)_$$_$RANDOM"
# Rewrites the database name of a postgres:// URL, keeping everything else.
url_with_db() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit((p.scheme, p.netloc, "/" + sys.argv[2], p.query, p.fragment)))
PY
}

if [ -z "${DATABASE_URL:-}" ]; then
  say "starting a throwaway PostgreSQL..."
  pg_ensure_installed
  PGPORT=$(pg_free_port)
  OWN_PG=1
  PG_FSYNC=off pg_start "$PGDIR" "$PGPORT"
  ADMIN_URL=$(pg_url "$PGDIR" "$PGPORT" postgres)
  APP_DB_URL=$(pg_url "$PGDIR" "$PGPORT" "$DB_NAME")
  "$(psql_bin)" "$ADMIN_URL" -qtA -v ON_ERROR_STOP=1 -c "create database \"$DB_NAME\"" >/dev/null
else
  if ! psql_bin >/dev/null; then
    say "installing the PostgreSQL client..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
  fi
  ADMIN_URL=$DATABASE_URL
  APP_DB_URL=$(url_with_db "$DATABASE_URL" "$DB_NAME")
  say "creating database $DB_NAME on the server of DATABASE_URL..."
  "$(psql_bin)" "$ADMIN_URL" -qtA -v ON_ERROR_STOP=1 -c "create database \"$DB_NAME\"" >/dev/null
  EXTERNAL_DB=$DB_NAME
fi

# --- the fake Meta (Login dialog, Graph API) -----------------------------------------
META_PORT=$(pg_free_port)
env -i PATH="$PATH" HOME="${HOME:-/root}" META_APP_ID=1234567890 META_APP_SECRET=x \
  "$BIN" dev-meta --port "$META_PORT" >"$WORK/dev-meta.log" 2>&1 &
META_PID=$!
for _ in $(seq 1 80); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$META_PORT/v21.0/me" || true)
  if [ "$code" != 000 ]; then break; fi
  sleep 0.25
done

# --- the app -----------------------------------------------------------------------
APP_PORT=$(pg_free_port)
DATA_KEY=$(head -c 32 /dev/urandom | base64)
STAFF_EMAIL=staff@bikriagent.test
STAFF_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')-quiet-harbor
BASE_URL="http://127.0.0.1:$APP_PORT"
say "starting the app on $BASE_URL..."
# A clean environment: nothing from the caller's shell (SMTP_URL,
# DATABASE_ADMIN_URL, BIKRI_*) may change where the app writes.
env -i PATH="$PATH" HOME="${HOME:-/root}" RUST_BACKTRACE=1 NO_COLOR=1 \
  DATABASE_URL="$APP_DB_URL" \
  BIKRI_ENV=development BIKRI_INSECURE_COOKIES=true \
  BIKRI_ADDR="127.0.0.1:$APP_PORT" BIKRI_PUBLIC_URL="$BASE_URL" \
  BIKRI_MAILBOX_DIR="$MAILBOX" \
  BIKRI_DATA_KEY="$DATA_KEY" \
  META_APP_ID=1234567890 META_APP_SECRET=x META_VERIFY_TOKEN=y \
  META_GRAPH_URL="http://127.0.0.1:$META_PORT/v21.0" META_DIALOG_URL="http://127.0.0.1:$META_PORT/v21.0/dialog/oauth" \
  "$BIN" serve >"$APPLOG" 2>&1 &
APP_PID=$!

healthy=""
for _ in $(seq 1 240); do  # at most about 60 s (migrations run at start-up)
  if ! kill -0 "$APP_PID" 2>/dev/null; then
    echo "error: the app exited during start-up" >&2
    exit 1
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE_URL/healthz" || true)
  if [ "$code" = 200 ]; then healthy=1; break; fi
  sleep 0.25
done
if [ -z "$healthy" ]; then
  echo "error: $BASE_URL/healthz did not answer 200 within 60 s" >&2
  exit 1
fi
say "app is up (pid $APP_PID)"

# A staff admin, made the way operators make one (the CLI; TOTP is set up in the browser).
env -i PATH="$PATH" HOME="${HOME:-/root}" NO_COLOR=1 \
  DATABASE_URL="$APP_DB_URL" BIKRI_ENV=development BIKRI_INSECURE_COOKIES=true \
  BIKRI_PUBLIC_URL="$BASE_URL" BIKRI_MAILBOX_DIR="$MAILBOX" BIKRI_DATA_KEY="$DATA_KEY" \
  META_APP_ID=1234567890 META_APP_SECRET=x META_VERIFY_TOKEN=y BIKRI_STAFF_PASSWORD="$STAFF_PASSWORD" \
  "$BIN" create-staff --email "$STAFF_EMAIL" --role admin --name "E2E Staff" >"$WORK/create-staff.log" 2>&1 \
  || { echo "error: create-staff failed:" >&2; cat "$WORK/create-staff.log" >&2; exit 1; }

# --- the browser test -----------------------------------------------------------
# The test prints the run's total time (from E2E_STARTED) and, last,
# "N passed, N failed"; nothing is printed after it on success.
E2E_BASE_URL="$BASE_URL" E2E_MAILBOX_DIR="$MAILBOX" E2E_STARTED="$started" \
  E2E_STAFF_EMAIL="$STAFF_EMAIL" E2E_STAFF_PASSWORD="$STAFF_PASSWORD" \
  python3 -u end2end/test_signup_login.py | tee "$WORK/test.out"
