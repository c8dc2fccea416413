#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The layering of user/ (docs/architecture.md): each folder may include only
# the folders listed before it. The pure folders (util, model, detect) include
# no libbpf, ncurses, libmicrohttpd, libelf/libdw or Capstone, and no skeleton.
# A user/ header is included by its folder ("util/log.h"), never bare.
# Prints one line per violation and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."
order="util model identity detect output collect attribute pipeline top cli"
pure="util model detect"
rank() {
	i=0
	for f in $order; do
		[ "$f" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}
bad=0
for dir in user/*/; do
	folder=$(basename "$dir")
	r=$(rank "$folder")
	if [ "$r" -lt 0 ]; then
		echo "check-layers: folder 'user/$folder' is not in the documented order ($order)"
		bad=1
		continue
	fi
	is_pure=0
	for p in $pure; do [ "$p" = "$folder" ] && is_pure=1; done
	for file in "$dir"*.[ch]; do
		[ -e "$file" ] || continue
		# quoted includes: "folder/name.h", "memobs.h" (the wire format), "*.skel.h"
		for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file"); do
			case "$inc" in
			memobs.h) continue ;;
			*.skel.h)
				if [ "$folder" != collect ] && [ "$folder" != attribute ]; then
					echo "check-layers: $file includes the skeleton '$inc' (only collect/ and attribute/ load BPF)"
					bad=1
				fi
				continue ;;
			*/*) ;;
			*)
				echo "check-layers: $file includes '$inc' without its folder"
				bad=1
				continue ;;
			esac
			to=${inc%%/*}
			tr=$(rank "$to")
			if [ "$tr" -lt 0 ]; then
				echo "check-layers: $file includes '$inc' from an unknown folder"
				bad=1
			elif [ "$tr" -gt "$r" ]; then
				echo "check-layers: $file ($folder) includes '$inc' from $to, a layer above it"
				bad=1
			fi
		done
		if [ "$is_pure" -eq 1 ]; then
			for sys in $(sed -n 's/^#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$file"); do
				case "$sys" in
				bpf/* | ncurses*.h | curses.h | term.h | microhttpd.h | libelf.h | gelf.h | elfutils/* | capstone/*)
					echo "check-layers: $file is in the pure folder $folder/ but includes <$sys>"
					bad=1 ;;
				esac
			done
		fi
	done
done
[ "$bad" -eq 0 ] && echo "check-layers: user/ follows the layer order ($order)"
exit "$bad"
