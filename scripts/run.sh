#!/usr/bin/env bash
# Runs BikriAgent locally: a private PostgreSQL when DATABASE_URL is not set,
# migrations, a demo owner, and the server on http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh

cleanup() {
  if [ -n "${DEV_META_PID:-}" ]; then kill "$DEV_META_PID" 2>/dev/null || true; fi
  if [ -n "${PGDIR:-}" ]; then echo "Stopping the private PostgreSQL..."; pg_stop "$PGDIR"; fi
}
trap cleanup EXIT

export BIKRI_ENV=${BIKRI_ENV:-development}
# Plain http on localhost: cookies cannot be Secure/__Host- there.
if [ -z "${BIKRI_PUBLIC_URL:-}" ]; then export BIKRI_INSECURE_COOKIES=${BIKRI_INSECURE_COOKIES:-true}; fi
mkdir -p .dev

# Development secrets: generated once, kept in .dev (git-ignored) so data
# encrypted with them stays readable across restarts.
if [ ! -s .dev/secrets.env ]; then
  (umask 077
   {
     echo "BIKRI_DATA_KEY=$(head -c 32 /dev/urandom | base64)"
     echo "META_APP_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
     echo "META_VERIFY_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
   } > .dev/secrets.env)
  echo "Generated local development secrets in .dev/secrets.env (development only; never use them in production)."
fi
set -a; source .dev/secrets.env; set +a

if [ -z "${DATABASE_URL:-}" ]; then
  pg_ensure_installed
  PGDIR="$PWD/.dev/pg"
  PGPORT=${BIKRI_DEV_PG_PORT:-54329}
  pg_start "$PGDIR" "$PGPORT"
  # Create the database on first use.
  PGPASSWORD=$(cat "$PGDIR.password") psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -qtA \
    -c "select 1 from pg_database where datname = 'bikriagent'" | grep -q 1 \
    || PGPASSWORD=$(cat "$PGDIR.password") createdb -h 127.0.0.1 -p "$PGPORT" -U postgres bikriagent
  export DATABASE_URL=$(pg_url "$PGDIR" "$PGPORT" bikriagent)
  echo "Private PostgreSQL running in .dev/pg on 127.0.0.1:$PGPORT (stopped when this command ends)."
fi

cargo build --release --bin bikriagent

# Without a real Meta app, run the fake Meta so "Connect with Facebook" works
# locally (it auto-approves and offers sandbox Pages and a WhatsApp number).
if [ -z "${META_GRAPH_URL:-}" ]; then
  META_PORT=${BIKRI_DEV_META_PORT:-3001}
  ./target/release/bikriagent dev-meta --port "$META_PORT" > .dev/dev-meta.log 2>&1 &
  DEV_META_PID=$!
  export META_GRAPH_URL="http://127.0.0.1:$META_PORT/v21.0"
  export META_DIALOG_URL="http://127.0.0.1:$META_PORT/v21.0/dialog/oauth"
  echo "Fake Meta running on 127.0.0.1:$META_PORT (development only)."
fi
./target/release/bikriagent migrate
./target/release/bikriagent seed-demo
echo "Open ${BIKRI_PUBLIC_URL:-http://${BIKRI_ADDR:-127.0.0.1:3000}} (Ctrl-C stops the server)."
./target/release/bikriagent serve
