# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The first leak of pyleak.py: records ingested and never dropped."""
_records = []
_bytes = 0


def leak_here(nbytes, chunk):
    global _bytes
    for _ in range(max(1, nbytes // chunk)):
        _records.append(bytes(chunk))
        _bytes += chunk


def held():
    return _bytes
