#!/usr/bin/env python3
"""Feeds `epistream gen` output (stdin) into Kafka through kcat at a fixed rate.

Each line goes to its type's topic (scan -> epi.scans, ...), keyed by
person_id (region for risk areas), through one `kcat -P` per topic (lz4,
murmur2 partitioning as Java producers do). Paced to RATE lines per second;
stops after DURATION seconds or at the end of input. Progress (lines sent) is
rewritten to PROGRESS_FILE every second for the sampler.

usage: feeder.py BROKERS RATE DURATION PROGRESS_FILE
"""
import subprocess
import sys
import time

TOPICS = {
    'scan': 'epi.scans', 'transport': 'epi.transport', 'fever': 'epi.fever',
    'risk_area': 'epi.risk_areas', 'person': 'epi.persons',
}


def field(line, name):
    at = line.find('"' + name + '":"')
    if at < 0:
        return ''
    start = at + len(name) + 4
    return line[start:line.find('"', start)]


def main():
    brokers, rate, duration, progress = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    procs = {}
    for typ, topic in TOPICS.items():
        procs[typ] = subprocess.Popen(
            ['kcat', '-P', '-b', brokers, '-t', topic, '-K', '\t', '-z', 'lz4',
             '-X', 'linger.ms=20', '-X', 'partitioner=murmur2_random',
             '-X', 'queue.buffering.max.messages=1000000'],
            stdin=subprocess.PIPE, text=True, bufsize=1 << 20)
    start = time.monotonic()
    sent = 0
    next_report = start + 1
    for line in sys.stdin:
        typ = field(line, 'type')
        proc = procs.get(typ)
        if proc is None:
            continue
        key = field(line, 'region' if typ == 'risk_area' else 'person_id') or '-'
        proc.stdin.write(key + '\t' + line)
        sent += 1
        if sent % 1000 == 0:
            # Flush every pipe: a rare type (fever, transport) would otherwise
            # sit in its buffer for minutes and reach the engine far behind
            # the other topics (then too_late).
            for p in procs.values():
                p.stdin.flush()
            now = time.monotonic()
            ahead = start + sent / rate - now
            if ahead > 0:
                time.sleep(ahead)
            if now >= next_report:
                with open(progress, 'w') as f:
                    f.write(str(sent))
                next_report = now + 1
            if now - start >= duration:
                break
    for proc in procs.values():
        proc.stdin.close()
    for proc in procs.values():
        proc.wait()
    with open(progress, 'w') as f:
        f.write(str(sent))
    elapsed = time.monotonic() - start
    print(f'feeder: {sent} lines in {elapsed:.1f} s ({sent / elapsed:.0f}/s)', file=sys.stderr)


if __name__ == '__main__':
    main()
