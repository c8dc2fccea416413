#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Regenerates vmlinux/<arch>/vmlinux.h from the running kernel's full BTF and
# records where it came from. Builds never need BTF: the header is committed.
set -eu
arch=${1:-x86}
btf=${BTF:-/sys/kernel/btf/vmlinux}
dir=$(dirname "$0")/$arch
mkdir -p "$dir"
bpftool btf dump file "$btf" format c > "$dir/vmlinux.h.tmp"
mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
{
	echo "source: $btf (full BTF dump, bpftool btf dump file ... format c)"
	echo "kernel: $(uname -r) ($(uname -v))"
	echo "bpftool: $(bpftool version | head -n 1)"
	echo "generated: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "sha256: $(sha256sum "$dir/vmlinux.h" | cut -d' ' -f1)"
} > "$dir/PROVENANCE"
cat "$dir/PROVENANCE"
