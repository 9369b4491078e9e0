"""An allocation-heavy Python script for the whole-program benchmark.

    PYTHONMALLOC=malloc python3 alloc_heavy.py [ROUNDS (default 200)]

Run it with PYTHONMALLOC=malloc: by default CPython serves small objects
from its own arenas and calls malloc rarely (design.md: about 23k calls in a
2.5 s script), which would measure nothing. With it, every object goes
through malloc (roughly 50k calls per round here).

Each round builds and drops dicts, lists, tuples and strings of mixed sizes,
and keeps a bounded cache of the last rounds' results, like a service with
an LRU: a steady live heap with heavy churn. Prints a checksum.
"""

import sys
from collections import OrderedDict


def one_round(seed):
    records = []
    for i in range(1000):
        key = "user-%d-%d" % (seed, i)
        record = {
            "id": i,
            "name": key,
            "tags": [key[:4], key[-3:], str(i * seed)],
            "score": (i * 2654435761) % 1000 / 7.0,
        }
        records.append(record)
    # Transform: new strings, tuples and lists from the old ones.
    by_tag = {}
    for record in records:
        for tag in record["tags"]:
            by_tag.setdefault(tag, []).append((record["id"], record["score"]))
    joined = ",".join(record["name"] for record in records[::10])
    return len(by_tag), joined


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cache = OrderedDict()
    checksum = 0
    for seed in range(rounds):
        tags, joined = one_round(seed)
        cache[seed] = joined
        if len(cache) > 64:
            cache.popitem(last=False)
        checksum += tags + len(joined)
    print("checksum", checksum)


if __name__ == "__main__":
    main()
