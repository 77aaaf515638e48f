#!/usr/bin/env python3
"""Summarises an e2e_bench --latency-trace file: where the events that
waited over 40 ms between consume and apply were held.

Each such event is charged to the loop turn that applied it, and that turn
to the first cause that fits:
  checkpoint  - a checkpoint ran in this turn or the 4 before it: the
                events queued during the pause, then waited for the backlog;
  no input    - the 2 or more turns before it each waited their full poll
                timeout and got nothing: the event-time merger held these
                events until another topic of their partition was fetched;
  other       - a long apply step or a run of heavy turns.

  python3 bench/e2e/latency_trace.py TRACE
"""
import bisect
import collections
import sys


def parse(path):
    turns, slow = [], []
    for line in open(path):
        fields = line.split()
        if not fields:
            continue
        kv = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if fields[0] == "turn":
            turns.append({k: float(v) for k, v in kv.items()})
        elif fields[0] == "slow":
            slow.append((int(kv["applied_ms"]), int(kv["consumed_ms"])))
    return turns, slow


def main():
    turns, slow = parse(sys.argv[1])
    ends = [t["end_ms"] for t in turns]
    by_turn = collections.defaultdict(list)
    for applied, consumed in slow:
        by_turn[bisect.bisect_left(ends, applied)].append(applied - consumed)
    causes = collections.Counter()
    worst = collections.defaultdict(int)
    for i, waits in by_turn.items():
        recent = range(max(0, i - 4), min(len(turns), i + 1))
        idle = 0
        j = i - 1
        while j >= 0 and turns[j]["released"] == 0 and turns[j]["poll_ms"] > 9:
            idle += 1
            j -= 1
        if any(turns[k]["checkpoint_ms"] > 0 for k in recent):
            cause = "checkpoint"
        elif idle >= 2:
            cause = "no input"
        else:
            cause = "other"
        causes[cause] += len(waits)
        worst[cause] = max(worst[cause], max(waits))
    applied = sum(t["released"] for t in turns)
    print(f"turns={len(turns)} events_applied={applied:.0f} waited_over_40ms={len(slow)}")
    for cause, n in causes.most_common():
        print(f"  {cause}: {n} events, longest wait {worst[cause]} ms")


if __name__ == "__main__":
    main()
