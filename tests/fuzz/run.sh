#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + coverage) in a build
# directory of their own and runs each for SECONDS (default 30).
#
#   tests/fuzz/run.sh              # 30 s each: a smoke run
#   tests/fuzz/run.sh 3600         # the long run: 1 h each, e.g. nightly
#   FUZZERS=state_fuzzer tests/fuzz/run.sh 600
#   RUNS=200000 tests/fuzz/run.sh  # CI: a fixed number of inputs from seed 1
#
# Environment: BUILD_DIR (default build-fuzz), JOBS (build parallelism,
# default 2), CC/CXX (default clang-14/clang++-14), FUZZERS (default both),
# RUNS (instead of SECONDS: this many inputs per target from -seed=1, what
# .ci/run uses, so the work CI does does not depend on the machine's speed;
# coverage still varies slightly between runs, a failure is always a bug).
# Seeds come from tests/fuzz/corpus/<name>/ (checked in); what the fuzzer
# learns goes to $BUILD_DIR/corpus/<name>/ and survives between runs, so
# `run.sh` again continues where it stopped. A crash leaves its input in
# $BUILD_DIR/artifacts/ and makes this script exit 1; reproduce it with
#   $BUILD_DIR/parse_fuzzer $BUILD_DIR/artifacts/crash-...
# then add the input as a regression case to the unit tests.
set -euo pipefail

seconds=${1:-30}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$repo/build-fuzz}
jobs=${JOBS:-2}
cc=${CC:-clang-14}
cxx=${CXX:-clang++-14}
fuzzers=${FUZZERS:-parse_fuzzer state_fuzzer}

mkdir -p "$build"
cmake -S "$repo/tests/fuzz" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" --target $fuzzers gen_state_corpus

# State seeds are encodings made by the current code: refresh them.
"$build/gen_state_corpus" "$repo/tests/fuzz/corpus/state"

mkdir -p "$build/artifacts"
status=0
for f in $fuzzers; do
  seeds="$repo/tests/fuzz/corpus/${f%_fuzzer}"
  work="$build/corpus/${f%_fuzzer}"
  mkdir -p "$work"
  max_len=4096
  [[ $f == parse_fuzzer ]] && max_len=16384
  if [[ -n ${RUNS:-} ]]; then
    budget=(-runs="$RUNS" -seed=1)
    echo "== $f for $RUNS inputs, seed 1 (seeds: $(ls "$seeds" | wc -l), corpus: $(ls "$work" | wc -l))"
  else
    budget=(-max_total_time="$seconds")
    echo "== $f for ${seconds}s (seeds: $(ls "$seeds" | wc -l), corpus: $(ls "$work" | wc -l))"
  fi
  if ! "$build/$f" "$work" "$seeds" "${budget[@]}" -max_len="$max_len" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/" 2>"$build/$f.log"; then
    status=1
    echo "!! $f found a failure; see $build/$f.log and $build/artifacts/"
    grep -m5 -E "ERROR|runtime error|SUMMARY" "$build/$f.log" || true
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$build/$f.log" || true
  # libFuzzer's own view: coverage, features and the reduced corpus.
  grep -E "^#[0-9]+.*corp:" "$build/$f.log" | tail -n 1 || true
  echo "corpus dir: $(ls "$work" | wc -l) files, $(du -sh "$work" | cut -f1)" \
       "(minimise: $build/$f -merge=1 NEW_DIR $work)"
done
exit $status
