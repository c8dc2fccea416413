// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// A Go program whose function addresses memobs's symbolizer must name
// (tests/e2e/test_names.py), built as is and stripped (no .symtab: the
// names then come from .gopclntab). Go allocates without malloc, so the
// test resolves addresses it prints rather than tracing allocations.
//
// Prints "func main.leakyHandler 0xENTRY" and "func main.(*cache).put
// 0xENTRY", then "ready", then keeps leaking slowly until killed.
package main

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"time"
)

var kept [][]byte

type cache struct{ items map[int][]byte }

//go:noinline
func (c *cache) put(k int, v []byte) { c.items[k] = v }

//go:noinline
func leakyHandler(n int) []byte {
	b := make([]byte, n)
	kept = append(kept, b)
	return b
}

func entry(f interface{}) uintptr {
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Entry()
}

func main() {
	c := &cache{items: map[int][]byte{}}
	fmt.Printf("func main.leakyHandler 0x%x\n", entry(leakyHandler))
	fmt.Printf("func main.(*cache).put 0x%x\n", entry((*cache).put))
	fmt.Println("ready")
	os.Stdout.Sync()
	for i := 0; ; i++ {
		c.put(i, leakyHandler(4096))
		time.Sleep(10 * time.Millisecond)
	}
}
