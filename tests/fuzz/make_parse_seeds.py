#!/usr/bin/env python3
"""Rewrites tests/fuzz/corpus/parse/: the parse_fuzzer seeds.

Seeds: every input line of tests/scenarios/*.jsonl, a few lines of each
type and field shape of bench/sample/city.jsonl, and hand-made shapes of the
bad input CONTRACT.md names (duplicate keys, deep nesting, huge numbers,
NUL, invalid UTF-8, non-objects). File names are SHA-1s, as libFuzzer names
corpus files. Run from the repository root.
"""
import glob
import hashlib
import json
import os

OUT = 'tests/fuzz/corpus/parse'


def main():
    seeds = []
    for f in sorted(glob.glob('tests/scenarios/*.jsonl')):
        for line in open(f, encoding='utf-8', errors='surrogateescape'):
            line = line.rstrip('\n')
            if line.startswith('# expect'):
                break
            if not line.strip() or line.startswith('#'):
                continue
            seeds.append(line)
    per_type, shapes = {}, set()
    for line in open('bench/sample/city.jsonl'):
        line = line.rstrip('\n')
        o = json.loads(line)
        shape = (o.get('type'), tuple(sorted(o.keys())))
        if shape in shapes and per_type.get(o.get('type'), 0) >= 3:
            continue
        shapes.add(shape)
        per_type[o.get('type')] = per_type.get(o.get('type'), 0) + 1
        seeds.append(line)
    seeds += [
        '{"event_id":"e1","ts":1663632000000,"person_id":"p1","venue_id":"v1","code_color":"red"}',
        '{"event_id":"e1","ts":"2022-09-20T08:15:03.123+08:00","person_id":"p1","clinic_id":"c",'
        '"temp_c":38.5,"symptoms":["cough"],"community_id":"cm"}',
        '{"event_id":"e1","ts":"2022-09-20T08:15:03Z","person_id":"p1","hub_id":"h","mode":"rail",'
        '"origin_region":"420106","trip_regions":["42","US"],"category":"inbound_released"}',
        '{"type":"person","person_id":"p1","community_id":"c1","occupation":"cold_chain"}',
        '{"type":"scan","event_id":"e1","event_id":"e2"}',
        '{"type":"scan","x":' + '[' * 70 + ']' * 70 + '}',
        '{"type":"fever","temp_c":1e400,"ts":99999999999999999999}',
        '{"type":"scan","ts":-1,"a":"\\u0000","b":"\\ud800"}',
        '{"type":"scan","event_id":"' + 'x' * 65 + '"}',
        '[1,2,3]', '{}', '{"a":1} {"b":2}', '"str"', 'null',
    ]
    raw = [s.encode('utf-8', 'surrogateescape') for s in seeds]
    raw += [b'{"type":"scan","event_id":"\xff\xfe"}', b'{"type":"scan","event_id":"a\x00b"}']
    os.makedirs(OUT, exist_ok=True)
    for b in raw:
        with open(os.path.join(OUT, hashlib.sha1(b).hexdigest()), 'wb') as f:
            f.write(b)
    print(f'{len(os.listdir(OUT))} seeds in {OUT}')


if __name__ == '__main__':
    main()
