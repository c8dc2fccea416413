#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Prints the rows of user/attribute/py_layout.c's offsets table, one per
# CPython install prefix given: tools/py_offsets.c compiled against that
# prefix's headers (internal ones included) and run. The table is static
# data; this is how it was made (docs/python.md), never run by the build.
#   tools/py_offsets.sh PREFIX...    e.g. "$(pyenv root)"/versions/3.12.1 /usr
set -eu
[ $# -gt 0 ] || { echo "usage: $0 PREFIX..." >&2; exit 2; }
CC=${CC:-cc}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for prefix in "$@"; do
	inc=""
	for d in "$prefix"/include/python3.*; do
		[ -f "$d/Python.h" ] && inc=$d
	done
	[ -n "$inc" ] || { echo "$0: no include/python3.*/Python.h under $prefix" >&2; exit 1; }
	# the prefix's own pyconfig.h, and Debian's multiarch one where it lives apart
	"$CC" -O0 -w -I"$inc" -I"$prefix/include/$(uname -m)-linux-gnu/$(basename "$inc")" \
		"$here/py_offsets.c" -o "$tmp/py_offsets"
	"$tmp/py_offsets"
done
