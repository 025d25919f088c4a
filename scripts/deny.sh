#!/usr/bin/env bash
# cargo deny check: RustSec advisories, licenses, duplicate and banned crates,
# and sources (crates.io only), as deny.toml says. Never touches the network
# for advisories: the database is the snapshot in ../shared/advisory-db, which
# this script turns into the git checkout cargo-deny reads (under
# target/advisory-dbs, deny.toml's db-path), dated as the snapshot is, so
# cargo-deny's staleness limit measures the snapshot's real age.
# Installs the pinned cargo-deny when it is missing or another version.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
SNAPSHOT=${BIKRI_ADVISORY_DB:-../shared/advisory-db}
DB_ROOT=target/advisory-dbs
# The folder name cargo-deny 0.20 derives from deny.toml's db-urls entry.
DB=$DB_ROOT/advisory-db-3157b0e258782691

if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  echo "installing cargo-deny $CARGO_DENY_VERSION"
  started=$SECONDS
  cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION"
  echo "cargo-deny installed in $((SECONDS - started)) s"
fi

if [ ! -d "$SNAPSHOT/crates" ]; then
  echo "no RustSec advisory database at $SNAPSHOT (a folder with crates/ and rust/)" >&2
  exit 1
fi

# The snapshot's date is that of its newest advisory: a day or so before the
# snapshot was taken, so the age shown errs on the old side.
newest=$(grep -rhoE --include='*.md' '^date = "[0-9]{4}-[0-9]{2}-[0-9]{2}"' "$SNAPSHOT" |
  cut -d'"' -f2 | sort | tail -n 1)
if [ -z "$newest" ]; then
  echo "no dated advisory in $SNAPSHOT" >&2
  exit 1
fi
stamp="${newest}T00:00:00Z"
age_days=$((($(date -u +%s) - $(date -u -d "$stamp" +%s)) / 86400))
echo "advisory database: $SNAPSHOT, newest advisory $newest ($age_days days old; deny.toml's maximum-db-staleness applies)"

rm -rf "$DB_ROOT"
mkdir -p "$DB_ROOT"
cp -R "$SNAPSHOT" "$DB"
rm -rf "$DB/.git"
git -C "$DB" init -q
git -C "$DB" add -A
GIT_AUTHOR_DATE=$stamp GIT_COMMITTER_DATE=$stamp git -C "$DB" \
  -c user.name=advisory-db -c user.email=advisory-db@localhost -c commit.gpgsign=false \
  commit -q --no-verify -m "RustSec advisory database snapshot of $newest"
# cargo-deny takes the newer of the HEAD commit's date and the mtime of
# .git/HEAD: give the file the snapshot's date too, or the copy looks fresh.
touch -d "$stamp" "$DB/.git/HEAD"

# cargo-deny reads `cargo metadata` for every target, offline: every crate of
# the lock file must be downloaded (this is the one network use, crates.io).
cargo fetch --locked --quiet

# -D warnings: a stale skip or allowance (unmatched-skip, unnecessary-skip,
# license-not-encountered, …) fails too, so deny.toml never outlives its reasons.
cargo deny --offline --workspace check --show-stats -D warnings
