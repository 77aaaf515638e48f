#!/usr/bin/env bash
# Soak: the engine against the embedded broker at a steady input rate,
# sampling its resources every 10 s. Not part of CI.
#
#   bench/soak/run.sh                       # 30 min at 50 000 events/s
#   DURATION=120 bench/soak/run.sh          # a 2-minute smoke run
#   RATE=20000 DURATION=3600 OUT=soak-1h bench/soak/run.sh
#
# Environment: BIN (default build/epistream), DURATION seconds (1800), RATE
# events/s (50000), PERSONS in the synthetic city (50000; days are derived so
# the city lasts the whole run: ~3.5 events per person and day), PARTITIONS
# per topic (8), INTERVAL between samples (10 s), OUT directory (soak-out).
#
# Runs `epistream broker`, `epistream run --brokers ...` (checkpoint 1 s,
# state in OUT/state) and `epistream gen | feeder.py` (kcat per topic, lz4),
# then samples to OUT/samples.csv:
#   elapsed_s, engine rss_kb, open fds, threads, CPU seconds; records handled
#   (parsed + unparsable), alerts, dead letters (too_late included), consumer
#   lag, RocksDB write stop and pending compaction MB, memtable MB, block
#   cache MB, cached person states (from /metrics); lines fed; broker rss_kb.
# At the end it waits up to 60 s for the lag to drain, stops everything and
# prints a summary (rates, RSS/fd/thread start, max and end). What to look for:
# RSS and fds flat after warm-up (the state cache fills first), lag bounded,
# records = fed lines, engine still up. The broker keeps only 5 MiB per
# partition (engine/embedded_broker.h): when the engine falls that far behind,
# unread records are deleted; the engine then stops with exit 1 and "input
# data lost" (auto.offset.reset=error; tests/reliability/data_loss_test.cc)
# and the summary says "engine exited early". Lower RATE or raise PARTITIONS
# if the host cannot sustain the rate.
#
# Memory: RSS grows while the per-person windows fill and is flat once event
# time passes state.retention (21 d); with the defaults that is after ~73 s,
# so the city is small enough (50k persons) for its windows to fill early and
# the run to show the plateau. CACHE_ENTRIES overrides state.cache_entries.
# Measured runs and where the bytes are: bench/soak/README.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN:-$repo/build/epistream}
duration=${DURATION:-1800}
rate=${RATE:-50000}
persons=${PERSONS:-50000}
partitions=${PARTITIONS:-8}
interval=${INTERVAL:-10}
cache_entries=${CACHE_ENTRIES:-}
out=${OUT:-soak-out}
days=$(( (duration * rate) / (persons * 35 / 10) + 2 ))

mkdir -p "$out"
rm -rf "$out/state"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$bin" broker --partitions "$partitions" >"$out/broker.log" 2>&1 &
broker_pid=$!
pids+=("$broker_pid")
for _ in $(seq 100); do
  grep -q '^bootstrap.servers=' "$out/broker.log" 2>/dev/null && break
  sleep 0.1
done
brokers=$(sed -n 's/^bootstrap.servers=//p' "$out/broker.log" | head -n1)
[[ -n $brokers ]] || { echo "broker did not start"; cat "$out/broker.log"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'checkpoint:\n  interval: 1s\n' >"$out/engine.yaml"
[[ -n $cache_entries ]] && printf 'state:\n  cache_entries: %s\n' "$cache_entries" >>"$out/engine.yaml"
"$bin" run --config "$out/engine.yaml" --brokers "$brokers" --group soak --state "$out/state" \
  --metrics-port "$port" >"$out/engine.log" 2>&1 &
engine_pid=$!
pids+=("$engine_pid")

echo 0 >"$out/fed"
"$bin" gen --persons "$persons" --days "$days" --seed 7 --out - 2>"$out/gen.log" |
  python3 "$repo/bench/soak/feeder.py" "$brokers" "$rate" "$duration" "$out/fed" 2>"$out/feeder.log" &
feeder_pid=$!
pids+=("$feeder_pid")

metrics() {  # records alerts deadletters lag write_stopped pending_compaction_mb memtable_mb block_cache_mb cached_persons
  python3 - "$port" <<'PY'
import sys, urllib.request
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=3).read().decode()
except Exception:
    print("NA NA NA NA NA NA NA NA NA"); sys.exit()
sums = {"epistream_events_total": 0, "epistream_alerts_total": 0, "epistream_late_events_total": 0,
        "epistream_deadletters_total": 0, "epistream_consumer_lag": 0,
        "epistream_rocksdb_write_stopped": 0, "epistream_rocksdb_pending_compaction_bytes": 0,
        "epistream_rocksdb_memtable_bytes": 0, "epistream_rocksdb_block_cache_bytes": 0,
        "epistream_state_cached_persons": 0}
for line in text.splitlines():
    if line.startswith("#"): continue
    name = line.split("{")[0].split(" ")[0]
    if name in sums: sums[name] += float(line.rsplit(" ", 1)[1])
# Records handled: parsed ones (too_late included) plus unparsable ones.
unparsable = sums["epistream_deadletters_total"] - sums["epistream_late_events_total"]
print(int(sums["epistream_events_total"] + unparsable),
      int(sums["epistream_alerts_total"]), int(sums["epistream_deadletters_total"]),
      int(sums["epistream_consumer_lag"]), int(sums["epistream_rocksdb_write_stopped"]),
      int(sums["epistream_rocksdb_pending_compaction_bytes"] / 1e6),
      int(sums["epistream_rocksdb_memtable_bytes"] / 1e6),
      int(sums["epistream_rocksdb_block_cache_bytes"] / 1e6),
      int(sums["epistream_state_cached_persons"]))
PY
}
status_of() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status" 2>/dev/null || echo NA; }
sample() {
  local t=$1
  local rss fds thr m fed brss cpu
  rss=$(status_of "$engine_pid" VmRSS)
  # utime + stime of the engine, in seconds (clock ticks / 100).
  cpu=$(awk '{print int(($14 + $15) / 100)}' "/proc/$engine_pid/stat" 2>/dev/null || echo NA)
  fds=$(ls "/proc/$engine_pid/fd" 2>/dev/null | wc -l)
  thr=$(status_of "$engine_pid" Threads)
  m=$(metrics)
  fed=$(cat "$out/fed")
  brss=$(status_of "$broker_pid" VmRSS)
  echo "$t,$rss,$fds,$thr,$cpu,${m// /,},$fed,$brss" >>"$out/samples.csv"
}

echo "elapsed_s,rss_kb,fds,threads,cpu_s,records,alerts,deadletters,lag,write_stopped,pending_compaction_mb,memtable_mb,block_cache_mb,cached_persons,fed,broker_rss_kb" >"$out/samples.csv"
echo "soak: ${duration}s at ${rate}/s, city of $persons persons over $days days; brokers=$brokers metrics=:$port out=$out"
start=$(date +%s)
while kill -0 "$feeder_pid" 2>/dev/null; do
  sleep "$interval"
  kill -0 "$engine_pid" 2>/dev/null || { echo "engine exited early"; break; }
  sample $(( $(date +%s) - start ))
  tail -n1 "$out/samples.csv"
done
wait "$feeder_pid" || true
fed=$(cat "$out/fed")
# Drain: until the engine has processed what was fed (or 60 s).
for _ in $(seq 60); do
  kill -0 "$engine_pid" 2>/dev/null || break
  read -r records _ <<<"$(metrics)"
  [[ $records != NA && $records -ge $fed ]] && break
  sleep 1
done
sample $(( $(date +%s) - start ))
engine_alive=no
kill -0 "$engine_pid" 2>/dev/null && engine_alive=yes
kill -TERM "$engine_pid" 2>/dev/null || true
engine_rc=0
wait "$engine_pid" || engine_rc=$?
kill -TERM "$broker_pid" 2>/dev/null || true
wait "$broker_pid" 2>/dev/null || true
pids=()

python3 - "$out/samples.csv" "$fed" "$engine_alive" "$engine_rc" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["rss_kb"] not in ("NA", "")]
fed = int(sys.argv[2])
def col(k): return [int(r[k]) for r in rows if r[k] not in ("NA", "")]
if not rows:
    print("no samples"); sys.exit(1)
t = int(rows[-1]["elapsed_s"])
rec = col("records")
print(f"fed {fed} lines, engine processed {rec[-1] if rec else 'NA'} "
      f"({(rec[-1] / t) if rec and t else 0:.0f}/s over {t} s); lost: {fed - rec[-1] if rec else 'NA'}")
for k in ("rss_kb", "fds", "threads", "cpu_s", "lag", "write_stopped", "pending_compaction_mb",
          "memtable_mb", "block_cache_mb", "cached_persons", "broker_rss_kb"):
    v = col(k)
    if v:
        print(f"{k:14} first {v[0]:>9}  max {max(v):>9}  last {v[-1]:>9}")
print(f"alerts {col('alerts')[-1] if col('alerts') else 'NA'}, dead letters "
      f"{col('deadletters')[-1] if col('deadletters') else 'NA'}; engine up at the end: {sys.argv[3]}, "
      f"exit code after SIGTERM: {sys.argv[4]}")
PY
