// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// A Go program that leaks on Go's own heap (tests/e2e/test_runtime.py):
// blocks, written through, appended to a global slice at a steady rate, so
// that anonymous RSS grows while malloc's stays flat (Go allocates from its
// own mmap'd arenas). appendBlocks is the leaking function that the
// escalation's fault sites must name (tests/e2e/test_escalation_sources.py):
// its stack reaches runtime.mallocgc through Go's frame pointers.
//
// runtime_go_leak [BYTES_PER_S] [BLOCK_BYTES]
// Prints "ready", then leaks until killed.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

var kept [][]byte

//go:noinline
func appendBlocks(n, count, block int) {
	for i := 0; i < count; i++ {
		b := make([]byte, block)
		for k := 0; k < block; k += 512 {
			b[k] = byte(n + k)
		}
		kept = append(kept, b)
	}
}

func main() {
	rate, block := 2<<20, 64<<10
	if len(os.Args) > 1 {
		rate, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		block, _ = strconv.Atoi(os.Args[2])
	}
	perTick := rate / 10 / block
	if perTick < 1 {
		perTick = 1
	}
	fmt.Println("ready")
	os.Stdout.Sync()
	for n := 0; ; n++ {
		appendBlocks(n, perTick, block)
		time.Sleep(100 * time.Millisecond)
	}
}
