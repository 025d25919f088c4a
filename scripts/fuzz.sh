#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/fuzz_targets/ with cargo-fuzz (libFuzzer),
# each for a bounded time, and fails on any crash, panic or broken assertion.
#
#   scripts/fuzz.sh                                # every target, 30 s each (CI)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh webhook_parse  # one hour on one target
#
# Nightly toolchain with AddressSanitizer when rustup has one; otherwise the
# stable toolchain without a sanitizer (still coverage-guided; the workspace
# forbids unsafe code, so a panic is what there is to find). The corpus
# grows in fuzz/corpus/<target> (git-ignored) from the seeds in
# ../shared/meta-samples; a failing input is saved in fuzz/artifacts/<target>/
# and cargo-fuzz prints the command that replays it.
# Installs the pinned cargo-fuzz when it is missing or another version.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SEEDS=../shared/meta-samples

if [ "$(cargo fuzz --version 2>/dev/null | head -n 1)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  started=$SECONDS
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  echo "cargo-fuzz installed in $((SECONDS - started)) s"
fi

if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
  sanitizer=address
else
  echo "no nightly toolchain: fuzzing on stable without AddressSanitizer"
  toolchain=()
  sanitizer=none
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for file in fuzz/fuzz_targets/*.rs; do
    targets+=("$(basename "$file" .rs)")
  done
fi

# The fuzz crate is a workspace of its own; its lock file starts from the main
# one each time, so the library is fuzzed with exactly the dependency versions
# it ships with (cargo then adds only libfuzzer-sys and its two dependencies).
cp Cargo.lock fuzz/Cargo.lock

started=$SECONDS
cargo "${toolchain[@]}" fuzz build --fuzz-dir fuzz --sanitizer "$sanitizer" "${targets[@]}"
echo "fuzz targets built in $((SECONDS - started)) s"

for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  seeds=()
  [ -d "$SEEDS" ] && seeds=("$SEEDS")
  dict=()
  [ -f "fuzz/$target.dict" ] && dict=("-dict=fuzz/$target.dict")
  log=$(mktemp "/tmp/bikri-fuzz-$target.XXXXXX")
  echo "fuzzing $target for $FUZZ_SECONDS s (log: $log)"
  # Inputs up to 64 KiB, so the parser's caps (4096 characters of text, 1000
  # events) can be crossed; any one input taking over 10 s is a finding.
  if ! cargo "${toolchain[@]}" fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed (full log: $log)" >&2
    exit 1
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true
  grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" || true
  rm -f "$log"
done
