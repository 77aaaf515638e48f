#!/usr/bin/env bash
# Scale-out bench (issue 8): throughput of 1, 2, 3 `epistream run --scale-out`
# instances in one group on the embedded broker, and the changelog restore
# rate (records/s, MB/s, extrapolated to seconds per GB of state).
#
# Usage: bench/scale/run.sh [build dir] [persons] [days] [partitions]
#   defaults: build 20000 2 12
# Environment:
#   REPART=0 (default): 1 plain instance, 1/2/3 --scale-out instances, restore
#   REPART=1: 1/2/3 --scale-out --repartition instances, restore (person and
#             cluster changelogs)
#   REPART=both: both series
#   REPART_Q=N: partitions of the repartition topic (broker and engines);
#             unset: the default, min(partitions, 6)
# Needs: kcat, curl, python3. Prints one line per figure; see README.md.
set -euo pipefail

BUILD=${1:-build}
PERSONS=${2:-20000}
DAYS=${3:-2}
PARTS=${4:-12}
BIN=$(realpath "$BUILD/epistream")
WORK=$(mktemp -d /tmp/epistream-scale-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

REPART=${REPART:-0}
QFLAG=()
if [ -n "${REPART_Q:-}" ]; then QFLAG=(--repartition-partitions "$REPART_Q"); fi
Q=${REPART_Q:-0}
if [ "$Q" = 0 ]; then Q=$((PARTS < 6 ? PARTS : 6)); fi

# --- input: one generated city, split per topic as key<TAB>value ---------
"$BIN" gen --persons "$PERSONS" --days "$DAYS" --seed 8 --out "$WORK/city.jsonl"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
topics = {"scan": "epi.scans", "transport": "epi.transport", "fever": "epi.fever",
          "risk_area": "epi.risk_areas", "person": "epi.persons"}
out = {t: open(f"{work}/{t}.tsv", "w") for t in topics.values()}
events = 0
for line in open(f"{work}/city.jsonl"):
    r = json.loads(line)
    key = r["region"] if r["type"] == "risk_area" else r["person_id"]
    out[topics[r["type"]]].write(key + "\t" + line.rstrip("\n") + "\n")
    events += r["type"] in ("scan", "transport", "fever")
open(f"{work}/events.count", "w").write(str(events))
PY
EVENTS=$(cat "$WORK/events.count")
echo "input: persons=$PERSONS days=$DAYS partitions=$PARTS person_events=$EVENTS repart=$REPART q=$Q"

start_broker() {
  "$BIN" broker --partitions "$PARTS" "${QFLAG[@]}" > "$WORK/broker.out" 2> "$WORK/broker.log" &
  BROKER_PID=$!
  PIDS+=("$BROKER_PID")
  # Up to 60 s: on a loaded machine the broker took more than 10 s to
  # start (96 partitions x 11 topics), and kcat without an address hangs.
  for _ in $(seq 600); do
    grep -q bootstrap.servers= "$WORK/broker.out" 2>/dev/null && break
    sleep 0.1
  done
  BROKERS=$(sed -n 's/^bootstrap.servers=//p' "$WORK/broker.out")
  if [ -z "$BROKERS" ]; then echo "broker did not start:"; tail -3 "$WORK/broker.log"; exit 1; fi
  for t in epi.persons epi.risk_areas epi.scans epi.transport epi.fever; do
    kcat -P -b "$BROKERS" -t "$t" -K $'\t' -z lz4 < "$WORK/$t.tsv"
  done
}

# Sum of epistream_events_total over the person event types and instances,
# or 0 while any instance reports consumer lag (a replay after a rebalance
# counts some events twice: the lag says when all input is really done;
# with --repartition it includes the repartition topic's lag, so "done"
# also means every frame was read by the cluster side).
events_done() {
  local sum=0 lag=0 port v l
  for port in "$@"; do
    read -r v l < <(curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null |
        awk '/^epistream_events_total\{.*type="(scan|transport|fever)"/ {s += $2}
             /^epistream_consumer_lag\{/ {g += $2}
             END {printf "%d %d\n", s, g}')
    sum=$((sum + ${v:-0}))
    lag=$((lag + ${l:-0}))
  done
  if [ "$lag" -gt 0 ]; then [ "$sum" -ge "$EVENTS" ] && sum=$((EVENTS - 1)); fi
  echo "$sum"
}

# run_instances N [mode]: N instances on a fresh broker; prints events/s.
# "plain": one instance without --scale-out (no changelog), the baseline;
# "scale": --scale-out; "repart": --scale-out --repartition (cluster records
# through the repartition topic and the cluster consumer group). A 3-instance
# scale or repart run leaves its broker up for restore().
run_instances() {
  local n=$1 mode=${2:-scale} ports=() pids=() i t0 t1 first=""
  local flag=(--scale-out)
  if [ "$mode" = plain ]; then flag=(); fi
  if [ "$mode" = repart ]; then flag=(--scale-out --repartition "${QFLAG[@]}"); fi
  start_broker
  for i in $(seq 0 $((n - 1))); do
    local port=$((19600 + i))
    ports+=("$port")
    "$BIN" run "${flag[@]}" --brokers "$BROKERS" --group "bench$n$mode" --state "$WORK/state-$n$mode-$i" \
        --metrics-port "$port" > "$WORK/run-$n$mode-$i.log" 2>&1 &
    pids+=($!)
    PIDS+=($!)
  done
  t0=$(now)
  local started=$SECONDS
  while :; do
    local done_events
    done_events=$(events_done "${ports[@]}")
    if [ -z "$first" ] && [ "$done_events" -gt 0 ]; then first=$(now); fi
    if [ "$done_events" -ge "$EVENTS" ]; then break; fi
    if (( SECONDS - started > 900 )); then echo "timeout at $done_events"; break; fi
    for p in "${pids[@]}"; do
      if ! kill -0 "$p" 2>/dev/null; then
        echo "an instance exited early:"; grep -h -i -E "error|fatal|exit|stopp" "$WORK"/run-"$n$mode"-*.log | tail -5; exit 1
      fi
    done
    sleep 0.2
  done
  t1=$(now)
  local ld
  ld=$(load)
  for p in "${pids[@]}"; do kill -TERM "$p"; done
  for p in "${pids[@]}"; do wait "$p" || true; done
  local frames=""
  if [ "$mode" = repart ]; then
    # Frames the instances wrote to the repartition topic (their stop lines).
    frames=$(sed -n 's/.*repartition: stopping; frames sent since start \([0-9]*\) (\([0-9]*\) bytes).*/\1 \2/p' \
        "$WORK"/run-"$n$mode"-*.log |
        awk -v e="$EVENTS" '{f += $1; b += $2} END {printf " q='"$Q"' frames=%d frames_per_event=%.2f frame_mb=%.1f", f, f / e, b / 1e6}')
  fi
  python3 -c "
e=$EVENTS; t0=$t0; f=$first; t1=$t1
print(f'mode=$mode instances=$n events={e} seconds_from_start={t1-t0:.1f} seconds_processing={t1-f:.1f} '
      f'events_per_s={e/(t1-f):.0f} (from start: {e/(t1-t0):.0f})$frames load=$ld')"
  if [ "$n" -lt 3 ] || [ "$mode" = plain ]; then kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; fi
}

# restore MODE: a fresh instance joins group bench3MODE (on the broker the
# 3-instance run left up) alone and restores every partition from
# epistream.changelog (repart: also every repartition partition from
# epistream.changelog.cluster); the restore lines of its log give the rate.
restore() {
  local mode=$1 flag=(--scale-out) want=$PARTS
  if [ "$mode" = repart ]; then flag=(--scale-out --repartition "${QFLAG[@]}"); want=$((PARTS + Q)); fi
  "$BIN" run "${flag[@]}" --brokers "$BROKERS" --group "bench3$mode" --state "$WORK/state-restore-$mode" \
      --metrics-port 19650 > "$WORK/restore-$mode.log" 2>&1 &
  local rpid=$!
  PIDS+=("$rpid")
  for _ in $(seq 1200); do
    [ "$(grep -c 'restored from\|local state current' "$WORK/restore-$mode.log" || true)" -ge "$want" ] && break
    sleep 0.1
  done
  local ld
  ld=$(load)
  kill -TERM "$rpid"; wait "$rpid" || true
  python3 - "$WORK/restore-$mode.log" "$mode" "$ld" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def report(label, pattern):
    recs = byts = 0; secs = 0.0; n = 0
    for m in re.finditer(pattern, text):
        n += 1; recs += int(m[1]); byts += int(m[2]); secs += float(m[3])
    if n == 0 or secs == 0:
        print(f"restore ({label}): no restore measured"); return
    mb = byts / 1e6
    print(f"restore ({label}): partitions={n} records={recs} state_mb={mb:.1f} seconds={secs:.2f} "
          f"records_per_s={recs/secs:.0f} mb_per_s={mb/secs:.1f} seconds_per_gb={secs/(byts/1e9):.0f} "
          f"seconds_per_million_records={secs/(recs/1e6):.1f} load={sys.argv[3]}")
tail = r" restored from \S+: (\d+) records, (\d+) bytes, \d+ checkpoints in ([0-9.]+) s"
report(f"{sys.argv[2]}, person", r"(?<!repartition )partition \d+" + tail)
if sys.argv[2] == "repart":
    report("repart, cluster", r"repartition partition \d+" + tail)
PY
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
}

if [ "$REPART" = 0 ] || [ "$REPART" = both ]; then
  run_instances 1 plain
  run_instances 1
  run_instances 2
  run_instances 3
  restore scale
fi
# --repartition: each city-wide count record goes to every one of the Q
# repartition partitions (Q frames), Q = REPART_Q or min(PARTS, 6).
if [ "$REPART" = 1 ] || [ "$REPART" = both ]; then
  run_instances 1 repart
  run_instances 2 repart
  run_instances 3 repart
  restore repart
fi
