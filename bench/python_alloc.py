# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A CPython process that allocates and frees at a set rate (bench/python.sh).

    python_alloc.py [--rate BYTES_PER_S] [--chunk BYTES] [--depth D]

Makes and drops bytes objects of --chunk bytes (default 4096: past pymalloc's
512-byte limit, so each is a malloc and a free) at --rate bytes a second
(default 50 MiB/s), paced every 10 ms, from a function D Python frames below
main (default 4: <module>, main, D-1 descend(), burst()). Holds nothing.
Prints "ready" before it starts. Runs under any CPython 3.
"""
import argparse
import time


def burst(n, chunk):
    for _ in range(n):
        b = bytes(chunk)  # noqa: F841 (dropped at the next one: malloc, then free)


def descend(depth, n, chunk):
    if depth <= 1:
        burst(n, chunk)
    else:
        descend(depth - 1, n, chunk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=50 << 20)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--depth", type=int, default=4)
    args = ap.parse_args()
    tick = 0.01
    per_tick = max(1, int(args.rate * tick / args.chunk))
    print("ready", flush=True)
    due = time.monotonic()
    while True:
        descend(args.depth, per_tick, args.chunk)
        due += tick
        left = due - time.monotonic()
        if left > 0:
            time.sleep(left)


if __name__ == "__main__":
    main()
