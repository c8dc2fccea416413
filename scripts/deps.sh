#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs the Debian packages that the build, the tests and the benchmarks
# need, only those missing; runs apt-get update once, and only if needed.
# libclang-rt-dev: clang's runtimes (libclang_rt.fuzzer, asan, ubsan) for make fuzz.
# redis-server: a real program without frame pointers for the unwinding tests (not started as a service).
# squashfuse, squashfs-tools, fuse3: a FUSE filesystem whose daemon a test stops (observed files on FUSE).
# openjdk-17-jdk-headless: javac and a JVM for the runtime verdict's end-to-end test (a Java heap leak).
# chromium: renders the SVG flame graph once, headless (tests/e2e/test_profiles.py; ~10 s, 414 MB installed).
set -eu

PACKAGES="
clang llvm make gcc pkg-config bpftool
libclang-rt-dev
libbpf-dev libelf-dev zlib1g-dev
libcmocka-dev libcapstone-dev libdw-dev libncurses-dev libmicrohttpd-dev
python3 python3-pytest
runc tmux bpftrace yamllint prometheus jq redis-server
squashfuse squashfs-tools fuse3
libjemalloc-dev libtcmalloc-minimal4
libprotobuf-c-dev protobuf-c-compiler golang-go
libiberty-dev nodejs
chromium
openjdk-17-jdk-headless
"

missing=""
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086 # word splitting is the point
apt-get install -y -q --no-install-recommends $missing >&2
