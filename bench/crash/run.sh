#!/usr/bin/env bash
# Crash loop at full size: tests/integration/crash_loop_test.cc with a ~1M-event
# city, SIGKILLed at random (seeded) moments; not part of CI (the CI size is
# the test's default, ~30k events and 20 kills in ~90 s).
#
#   bench/crash/run.sh                          # ~1.05M events, 30 kills
#   KILLS=50 SEED=7 bench/crash/run.sh
#   PERSONS=20000 DAYS=8 bench/crash/run.sh     # a quick one
#   LIVE_S=120 bench/crash/run.sh               # produce while killing (alerts
#                                               # compared; state digest not)
#
# Environment: BUILD (build dir, default build), PERSONS (120000), DAYS (18):
# the synthetic city, ~0.55 events per person and day; KILLS (30); PARTITIONS
# per topic (8: the mock broker keeps ~5 MiB per partition, ~190k lz4-compressed
# events); SEED (20221129); LIVE_S (0: the input is produced before the first
# start); OUT (log file, crash-out.log).
#
# Prints the test's summary line: kills, events, alerts expected/got/missing/
# extra/doubled against an uninterrupted Kafka run (and file mode by alert id),
# dead letters, lives whose restart suppressed already-written output, both
# state digests and whether the states are equal outside the cluster stage's
# venue-activity tables, and the wall time. Exit status: the test's.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$repo/build}
out=${OUT:-crash-out.log}
export EPISTREAM_CRASH_PERSONS=${PERSONS:-120000}
export EPISTREAM_CRASH_DAYS=${DAYS:-18}
export EPISTREAM_CRASH_KILLS=${KILLS:-30}
export EPISTREAM_CRASH_PARTITIONS=${PARTITIONS:-8}
export EPISTREAM_CRASH_SEED=${SEED:-20221129}
export EPISTREAM_CRASH_LIVE_S=${LIVE_S:-0}

cmake --build "$build" -j2 --target epistream integration_tests >/dev/null
echo "crash loop: persons=$EPISTREAM_CRASH_PERSONS days=$EPISTREAM_CRASH_DAYS kills=$EPISTREAM_CRASH_KILLS" \
  "partitions=$EPISTREAM_CRASH_PARTITIONS seed=$EPISTREAM_CRASH_SEED live_s=$EPISTREAM_CRASH_LIVE_S; log: $out"
rc=0
"$build/tests/integration_tests" --gtest_filter='CrashLoopTest.*' >"$out" 2>&1 || rc=$?
grep -E -A1 '^crash_loop:' "$out" || true
grep -E -A6 'Failure' "$out" | cut -c1-400 | head -40 || true
grep -E '^\[  (PASSED|FAILED) ' "$out" || true
exit "$rc"
