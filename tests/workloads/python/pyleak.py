# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A Python service that leaks through two functions of two modules.

    pyleak.py [--alpha BYTES_PER_S] [--beta BYTES_PER_S] [--chunk BYTES]
              [--wait-signal] [--seconds S]

ingest.leak_here keeps --alpha bytes a second (bytes objects), cache.leak_there
--beta (bytearray objects), both in pieces of --chunk bytes kept for ever. It
prints "ready" once both modules are imported, then "held A B" every second
(the bytes each function has kept so far: the truth memobs is held to).

--wait-signal: after "ready", leak nothing until SIGUSR1 (so that a tracer
attached in between sees every leaked byte). --seconds S: leak for S seconds,
then print "done A B" (the bytes kept by each, final) and idle, holding them,
until killed.

Runs under any CPython 3.9+ (tests/e2e/test_python.py, bench/python.sh).
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cache  # noqa: E402
import ingest  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alpha", type=int, default=3 << 20)
    ap.add_argument("--beta", type=int, default=1 << 20)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--wait-signal", action="store_true")
    ap.add_argument("--seconds", type=float, default=0)
    args = ap.parse_args()
    tick = 0.05
    if args.wait_signal:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("ready", flush=True)
    if args.wait_signal:
        signal.sigwait({signal.SIGUSR1})
    start = last = time.monotonic()
    while not args.seconds or time.monotonic() - start < args.seconds:
        ingest.leak_here(int(args.alpha * tick), args.chunk)
        cache.leak_there(int(args.beta * tick), args.chunk)
        time.sleep(tick)
        if time.monotonic() - last >= 1:
            last = time.monotonic()
            print("held", ingest.held(), cache.held(), flush=True)
    print("done", ingest.held(), cache.held(), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
