// leak_series: a Go program that leaks, next to a bounded cache and a batch
// buffer, writing a heap profile after each step of its work: a series for
// `heapwatch check` written by Go's runtime/pprof (not heapwatch's writer).
//
//	go run leak_series.go OUTDIR [RATE]
//
// RATE is runtime.MemProfileRate: 1 (the default here) records every
// allocation, so a test's verdict cannot depend on sampling luck; 524288 is
// Go's own default, as Go services run.
//
// Writes heap.<pid>.<seq>.pb.gz, seq 1..16, 20 ms apart. Each step:
//
//	leak:      keeps 1 MiB more for good (16 MiB in all, ~32 samples)
//	fillCache: a cache of at most 32 entries of 256 KiB, full after 4 steps,
//	           then each step replaces 8 entries (a plateau at 8 MiB)
//	runBatch:  a batch buffer that grows by 4 MiB a step and is dropped
//	           every 4 steps (a sawtooth)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

const (
	steps      = 16
	leakStep   = 1 << 20
	cacheLimit = 32
	entrySize  = 256 << 10
	batchStep  = 4 << 20
)

var (
	leaked [][]byte
	cache  = map[int][]byte{}
	batch  [][]byte
	next   int
)

//go:noinline
func leak() {
	for i := 0; i < leakStep/(64<<10); i++ {
		leaked = append(leaked, make([]byte, 64<<10))
	}
}

//go:noinline
func fillCache() {
	for i := 0; i < 8; i++ {
		cache[next] = make([]byte, entrySize)
		delete(cache, next-cacheLimit)
		next++
	}
}

//go:noinline
func runBatch(step int) {
	if step%4 == 0 {
		batch = nil
	}
	for i := 0; i < batchStep/(32<<10); i++ {
		batch = append(batch, make([]byte, 32<<10))
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
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: leak_series OUTDIR [RATE]")
		os.Exit(2)
	}
	dir := os.Args[1]
	runtime.MemProfileRate = 1
	if len(os.Args) == 3 {
		rate, err := strconv.Atoi(os.Args[2])
		if err != nil || rate < 1 {
			fmt.Fprintln(os.Stderr, "RATE: a positive number of bytes")
			os.Exit(2)
		}
		runtime.MemProfileRate = rate
	}
	for step := 1; step <= steps; step++ {
		leak()
		fillCache()
		runBatch(step)
		writeProfile(dir, step)
		time.Sleep(20 * time.Millisecond)
	}
	runtime.KeepAlive(leaked)
	runtime.KeepAlive(batch)
}
