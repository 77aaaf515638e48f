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
# the synthetic city, ~0.48 events per person and day; KILLS (30); PARTITIONS
# per topic (default: one per 65k events, at least 4; 16 at the default size):
# the mock broker keeps only ~5 MiB of stored batches per partition, ~105k
# lz4-compressed city events, and silently drops the oldest, so a larger
# share is lost before the engines read it (issue #7: 8 partitions at 1M
# events lost ~4.8k day-0 scans; tests/kafka/city_ring_capacity_test.cc);
# SEED (20221129); LIVE_S (0: the input is produced before the first start);
# OUT (log file, crash-out.log).
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
# ~0.48 events per person-day (1 031 745 at 120000 x 18), ~97% of them scans.
events=$((EPISTREAM_CRASH_PERSONS * EPISTREAM_CRASH_DAYS * 48 / 100))
default_partitions=$(((events + 64999) / 65000))
((default_partitions < 4)) && default_partitions=4
export EPISTREAM_CRASH_PARTITIONS=${PARTITIONS:-$default_partitions}
export EPISTREAM_CRASH_SEED=${SEED:-20221129}
export EPISTREAM_CRASH_LIVE_S=${LIVE_S:-0}
if ((EPISTREAM_CRASH_PARTITIONS < 1)); then
  echo "crash loop: PARTITIONS must be >= 1" >&2
  exit 2
fi
per_partition=$((events / EPISTREAM_CRASH_PARTITIONS))
if ((per_partition > 90000)); then
  msg="~$per_partition events per partition: the mock broker keeps ~105k city events per partition"
  msg+=" and drops older ones unread; use PARTITIONS >= $default_partitions"
  if ((EPISTREAM_CRASH_LIVE_S == 0)); then
    echo "crash loop: $msg" >&2
    exit 2
  fi
  echo "crash loop: warning: $msg" >&2
fi

cmake --build "$build" -j2 --target epistream integration_tests >/dev/null
echo "crash loop: persons=$EPISTREAM_CRASH_PERSONS days=$EPISTREAM_CRASH_DAYS kills=$EPISTREAM_CRASH_KILLS" \
  "partitions=$EPISTREAM_CRASH_PARTITIONS seed=$EPISTREAM_CRASH_SEED live_s=$EPISTREAM_CRASH_LIVE_S; log: $out"
rc=0
"$build/tests/integration_tests" --gtest_filter='CrashLoopTest.*' >"$out" 2>&1 || rc=$?
grep -E -A1 '^crash_loop:' "$out" || true
grep -E -A6 'Failure' "$out" | cut -c1-400 | head -40 || true
grep -E '^\[  (PASSED|FAILED) ' "$out" || true
exit "$rc"
