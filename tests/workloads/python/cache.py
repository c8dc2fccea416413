# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The second leak of pyleak.py: a cache that never evicts."""
_entries = {}
_bytes = 0


def leak_there(nbytes, chunk):
    global _bytes
    for _ in range(max(1, nbytes // chunk)):
        _entries[len(_entries)] = bytearray(chunk)
        _bytes += chunk


def held():
    return _bytes
