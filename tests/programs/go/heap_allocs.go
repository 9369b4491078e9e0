// heap_allocs: a Go program with known heap contents, for the analyzer's
// tests of Go heap profiles (runtime/pprof's writer, not ours).
//
//	go run heap_allocs.go OUTDIR
//
// Records every allocation (runtime.MemProfileRate = 1, so the profile holds
// exact, unscaled values), then writes three heap profiles into OUTDIR, named
// as heapwatch names its own, heap.<pid>.<seq>.pb.gz:
//
//	seq 1: retainSmall holds 1000 blocks of 1024 bytes
//	seq 2: and retainLarge holds 300 blocks of 8192 bytes
//	seq 3: and retainSmall holds 1000 more (2000 in all)
//
// Block sizes are Go size classes, so the in-use bytes are exactly
// blocks * size. The holders are allocated in main, so the two functions'
// own allocations are exactly the blocks.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

const (
	smallBlocks = 1000
	smallSize   = 1024
	largeBlocks = 300
	largeSize   = 8192
)

var (
	smallHeld [][]byte
	largeHeld [][]byte
)

func init() {
	// As early as possible: allocations before this are sampled at the
	// default rate.
	runtime.MemProfileRate = 1
	// Collect only when writeProfile asks: a collection started from inside
	// an allocation allocates too (a sudog, say), on the allocating
	// function's stack, and would add to its exact numbers.
	debug.SetGCPercent(-1)
}

//go:noinline
func retainSmall(into [][]byte) {
	for i := range into {
		into[i] = make([]byte, smallSize)
	}
}

//go:noinline
func retainLarge(into [][]byte) {
	for i := range into {
		into[i] = make([]byte, largeSize)
	}
}

func writeProfile(dir string, seq int) {
	// The heap profile shows the heap as of the last completed GC; two
	// cycles publish everything allocated before the first.
	runtime.GC()
	runtime.GC()
	path := filepath.Join(dir, fmt.Sprintf("heap.%d.%d.pb.gz", os.Getpid(), seq))
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: heap_allocs OUTDIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	smallHeld = make([][]byte, 2*smallBlocks)
	largeHeld = make([][]byte, largeBlocks)

	retainSmall(smallHeld[:smallBlocks])
	writeProfile(dir, 1)
	retainLarge(largeHeld)
	writeProfile(dir, 2)
	retainSmall(smallHeld[smallBlocks:])
	writeProfile(dir, 3)
	runtime.KeepAlive(smallHeld)
	runtime.KeepAlive(largeHeld)
}
