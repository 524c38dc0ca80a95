package kv_test

// Benchmarks for the engines and for the state-layout question in
// docs/state-layout.md. Run them with
//
//	go test -run '^$' -bench 'GetPut|BatchCommit|Flush' ./internal/kv/
//	go test -run '^$' -bench 'Layout' -benchtime 1x -count 3 ./internal/kv/
//
// The Layout benchmarks do one whole scenario per iteration and report what
// they measure with b.ReportMetric; their ns/op is the whole scenario.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/internal/kv"
)

const (
	benchKeySpace = 10_000
	layoutTasks   = 64
)

// benchKey writes the 16-byte key of index i into k.
func benchKey(k []byte, i uint64) []byte {
	k = k[:16]
	binary.BigEndian.PutUint64(k, i*0x9E3779B97F4A7C15) // spread, still unique
	binary.BigEndian.PutUint64(k[8:], i)
	return k
}

type benchEngine struct {
	name string
	open func(b *testing.B) kv.Store
}

func benchEngines() []benchEngine {
	pebbleOn := func(dir func(b *testing.B) (string, vfs.FS), noWAL bool) func(b *testing.B) kv.Store {
		return func(b *testing.B) kv.Store {
			d, fs := dir(b)
			db, err := kv.OpenPebble(d, kv.PebbleOptions{FS: fs, DisableWAL: noWAL})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			return db.Store([]byte{0, 0, 0, 1})
		}
	}
	mem := func(*testing.B) (string, vfs.FS) { return "db", vfs.NewMem() }
	disk := func(b *testing.B) (string, vfs.FS) { return b.TempDir(), nil }
	return []benchEngine{
		{"memory", func(*testing.B) kv.Store { return kv.NewMemory() }},
		{"pebble-memfs", pebbleOn(mem, false)},
		{"pebble-disk", pebbleOn(disk, false)},
		{"pebble-disk-nowal", pebbleOn(disk, true)},
	}
}

// BenchmarkGetPut is the per-record cost of a read-modify-write state
// update: Get then Set of a random key of a 10k key space (16-byte keys,
// 8-byte values).
func BenchmarkGetPut(b *testing.B) {
	for _, e := range benchEngines() {
		b.Run(e.name, func(b *testing.B) {
			s := e.open(b)
			defer s.Close()
			k := make([]byte, 16)
			v := make([]byte, 8)
			for i := range uint64(benchKeySpace) {
				if err := s.Set(benchKey(k, i), v); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchKey(k, rng.Uint64N(benchKeySpace))
				old, _, err := s.Get(k)
				if err != nil {
					b.Fatal(err)
				}
				copy(v, old)
				v[0]++
				if err := s.Set(k, v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkBatchCommit commits batches of 1000 Sets of random keys of the
// 10k key space.
func BenchmarkBatchCommit(b *testing.B) {
	for _, e := range benchEngines() {
		b.Run(e.name, func(b *testing.B) {
			s := e.open(b)
			defer s.Close()
			k := make([]byte, 16)
			v := make([]byte, 8)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := s.NewBatch()
				for range 1000 {
					if err := batch.Set(benchKey(k, rng.Uint64N(benchKeySpace)), v); err != nil {
						b.Fatal(err)
					}
				}
				if err := batch.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "sets/s")
		})
	}
}

// BenchmarkFlush is the cost of a commit-time Flush after 1000 random Sets,
// on disk: a WAL fsync, or with the WAL disabled a memtable flush.
func BenchmarkFlush(b *testing.B) {
	for _, e := range benchEngines()[2:] {
		b.Run(e.name, func(b *testing.B) {
			s := e.open(b)
			defer s.Close()
			k := make([]byte, 16)
			v := make([]byte, 8)
			rng := rand.New(rand.NewPCG(1, 2))
			var flushTime time.Duration
			for i := 0; i < b.N; i++ {
				batch := s.NewBatch()
				for range 1000 {
					_ = batch.Set(benchKey(k, rng.Uint64N(1<<20)), v)
				}
				if err := batch.Commit(); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := s.Flush(); err != nil {
					b.Fatal(err)
				}
				flushTime += time.Since(start)
			}
			b.ReportMetric(float64(flushTime.Microseconds())/float64(b.N), "µs/flush")
		})
	}
}

// memUsage is a process memory reading.
type memUsage struct {
	rss  uint64 // resident set size: Go heap and Pebble's manually managed memory (memtables, block cache)
	heap uint64 // live Go heap
	gr   int    // goroutines
}

func readMem(b *testing.B) memUsage {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("needs /proc/self/statm")
	}
	f := strings.Fields(string(statm))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return memUsage{rss: pages * uint64(os.Getpagesize()), heap: ms.HeapAlloc, gr: runtime.NumGoroutine()}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func diffMiB(after, before uint64) float64 {
	return (float64(after) - float64(before)) / (1 << 20)
}

// taskPrefix is task i's store prefix in the shared DB: fixed-length, so
// prefix-free.
func taskPrefix(i int) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(i)+1)
}

// layout is the state of layoutTasks tasks, either one Pebble DB per task or
// one DB with a prefixed view per task.
type layout struct {
	shared bool
	dir    string
	cache  *pebble.Cache
	mem    uint64 // memtable size
	dbs    []*kv.PebbleDB
	stores []kv.Store
}

func (l *layout) taskDir(i int) string {
	if l.shared {
		return filepath.Join(l.dir, "instance")
	}
	return filepath.Join(l.dir, fmt.Sprintf("task-%02d", i))
}

func (l *layout) open(b *testing.B) {
	l.dbs, l.stores = nil, nil
	opts := kv.PebbleOptions{Cache: l.cache, MemTableSize: l.mem}
	for i := range layoutTasks {
		if !l.shared || i == 0 {
			db, err := kv.OpenPebble(l.taskDir(i), opts)
			if err != nil {
				b.Fatal(err)
			}
			l.dbs = append(l.dbs, db)
		}
		if l.shared {
			l.stores = append(l.stores, l.dbs[0].Store(taskPrefix(i)))
		} else {
			l.stores = append(l.stores, l.dbs[i].Store(nil))
		}
	}
}

func (l *layout) close(b *testing.B) {
	for _, db := range l.dbs {
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	l.dbs, l.stores = nil, nil
}

// fill writes perTask random records (16-byte keys from a per-task space of
// keySpace, 8-byte values) to every task, round-robin in batches of batch
// records, as tasks processing in parallel would.
func (l *layout) fill(b *testing.B, perTask, keySpace, batch int) {
	k := make([]byte, 16)
	v := make([]byte, 8)
	rng := rand.New(rand.NewPCG(3, 4))
	for done := 0; done < perTask; done += batch {
		for _, s := range l.stores {
			bt := s.NewBatch()
			for range batch {
				binary.BigEndian.PutUint64(v, rng.Uint64())
				_ = bt.Set(benchKey(k, rng.Uint64N(uint64(keySpace))), v)
			}
			if err := bt.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func (l *layout) metrics() (written, flushes uint64, disk uint64, l0 int64) {
	for _, db := range l.dbs {
		m := db.Pebble().Metrics()
		t := m.Total()
		written += m.WAL.BytesWritten + t.TableBytesFlushed + t.TableBytesCompacted
		flushes += uint64(m.Flush.Count)
		disk += m.Table.Local.LiveSize
		l0 += m.Levels[0].TablesCount
	}
	return
}

// scan reads every key of the given tasks and returns the time taken.
func (l *layout) scan(b *testing.B, tasks []int) (time.Duration, int) {
	start := time.Now()
	n := 0
	for _, i := range tasks {
		it := l.stores[i].Iter(nil, nil, false)
		for it.Next() {
			n++
		}
		if err := it.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start), n
}

// compactAll compacts every DB fully.
func (l *layout) compactAll(b *testing.B) {
	for _, db := range l.dbs {
		if err := db.Pebble().Compact(context.Background(), []byte{}, []byte{0xff, 0xff, 0xff, 0xff, 0xff}, true); err != nil {
			b.Fatal(err)
		}
	}
}

var layouts = []struct {
	name   string
	shared bool
}{
	{"db-per-task", false},
	{"one-db-64-views", true},
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkLayoutOpen measures, for 64 tasks, the cost of 64 Pebble DBs
// sharing one 64 MiB block cache against one DB with 64 prefixed views:
// creating and opening, memory once each task has written 20k records
// (default 4 MiB memtables), closing, reopening (which replays the WAL),
// and closing after flushing the memtables then reopening (nothing to
// replay).
func BenchmarkLayoutOpen(b *testing.B) {
	for _, lay := range layouts {
		b.Run(lay.name, func(b *testing.B) {
			var create, reopen, closeT, flushClose, reopenFlushed time.Duration
			var rssOpen, rssFilled, heapFilled, rssReopen, goroutines float64
			for i := 0; i < b.N; i++ {
				cache := pebble.NewCache(64 << 20)
				l := &layout{shared: lay.shared, dir: b.TempDir(), cache: cache}
				m0 := readMem(b)
				start := time.Now()
				l.open(b)
				create += time.Since(start)
				m1 := readMem(b)
				l.fill(b, 20_000, 20_000, 100)
				m2 := readMem(b)
				start = time.Now()
				l.close(b)
				closeT += time.Since(start)
				m3 := readMem(b)
				start = time.Now()
				l.open(b)
				reopen += time.Since(start)
				m4 := readMem(b)
				start = time.Now()
				for _, db := range l.dbs {
					if err := db.Pebble().Flush(); err != nil {
						b.Fatal(err)
					}
				}
				l.close(b)
				flushClose += time.Since(start)
				start = time.Now()
				l.open(b)
				reopenFlushed += time.Since(start)
				l.close(b)
				cache.Unref()

				rssOpen += diffMiB(m1.rss, m0.rss)
				rssFilled += diffMiB(m2.rss, m0.rss)
				heapFilled += diffMiB(m2.heap, m0.heap)
				rssReopen += diffMiB(m4.rss, m3.rss)
				goroutines += float64(m1.gr - m0.gr)
			}
			n := float64(b.N)
			b.ReportMetric(ms(create)/n, "create-ms")
			b.ReportMetric(ms(closeT)/n, "close-ms")
			b.ReportMetric(ms(reopen)/n, "reopen-ms")
			b.ReportMetric(ms(flushClose)/n, "flush+close-ms")
			b.ReportMetric(ms(reopenFlushed)/n, "reopen-flushed-ms")
			b.ReportMetric(rssOpen/n, "rss-open-MiB")
			b.ReportMetric(rssFilled/n, "rss-filled-MiB")
			b.ReportMetric(heapFilled/n, "heap-filled-MiB")
			b.ReportMetric(rssReopen/n, "rss-reopen-MiB")
			b.ReportMetric(goroutines/n, "goroutines")
		})
	}
}

// BenchmarkLayoutIngest writes 64 tasks × 50k random records (20k keys per
// task, batches of 100 per task round-robin) with the same total memtable
// budget, 64 MiB: 64 DBs with 512 KiB memtables (budget / (2 × 64)) against
// one DB with 32 MiB memtables. It reports throughput and write
// amplification (WAL + flushed + compacted bytes / user bytes).
func BenchmarkLayoutIngest(b *testing.B) {
	const budget = 64 << 20
	const perTask = 50_000
	for _, lay := range layouts {
		b.Run(lay.name, func(b *testing.B) {
			var elapsed time.Duration
			var wamp, flushes, l0, rss float64
			for i := 0; i < b.N; i++ {
				cache := pebble.NewCache(64 << 20)
				mem := uint64(budget / 2)
				if !lay.shared {
					mem = budget / (2 * layoutTasks)
				}
				l := &layout{shared: lay.shared, dir: b.TempDir(), cache: cache, mem: mem}
				m0 := readMem(b)
				l.open(b)
				start := time.Now()
				l.fill(b, perTask, 20_000, 100)
				elapsed += time.Since(start)
				m1 := readMem(b)
				w, f, _, z := l.metrics()
				user := float64(layoutTasks * perTask * (16 + 8))
				wamp += float64(w) / user
				flushes += float64(f)
				l0 += float64(z)
				rss += diffMiB(m1.rss, m0.rss)
				l.close(b)
				cache.Unref()
			}
			n := float64(b.N)
			b.ReportMetric(float64(layoutTasks*perTask)*n/elapsed.Seconds(), "records/s")
			b.ReportMetric(wamp/n, "write-amp")
			b.ReportMetric(flushes/n, "flushes")
			b.ReportMetric(l0/n, "L0-tables")
			b.ReportMetric(rss/n, "rss-MiB")
		})
	}
}

// BenchmarkLayoutDrop measures dropping one task's state (the task moved to
// another instance) out of 64 tasks × 20k keys: closing its DB and
// DestroyPebble, against DeleteRange of its prefix in the shared DB, then the
// effect on the remaining data: the time to scan the other 63 tasks' state
// before and after the drop, and in the shared DB the compaction that
// reclaims the space (time, bytes rewritten) and the scan after it. With
// settled=true the LSM was fully compacted before the drop; with false it is
// as the writes left it.
func BenchmarkLayoutDrop(b *testing.B) {
	const perTask = 20_000
	rest := make([]int, 0, layoutTasks-1)
	for i := 1; i < layoutTasks; i++ {
		rest = append(rest, i)
	}
	for _, settled := range []bool{true, false} {
		for _, lay := range layouts {
			b.Run(fmt.Sprintf("settled=%v/%s", settled, lay.name), func(b *testing.B) {
				var drop, dropFlush, scanBefore, scanAfter, scanDropped, compact, scanCompacted time.Duration
				var diskBefore, diskAfterDrop, diskAfterCompact, compactedMiB float64
				for i := 0; i < b.N; i++ {
					cache := pebble.NewCache(64 << 20)
					l := &layout{shared: lay.shared, dir: b.TempDir(), cache: cache}
					l.open(b)
					l.fill(b, perTask, perTask*4, 1000)
					for _, db := range l.dbs {
						if err := db.Flush(); err != nil {
							b.Fatal(err)
						}
						if err := db.Pebble().Flush(); err != nil {
							b.Fatal(err)
						}
					}
					if settled {
						l.compactAll(b)
					}
					_, _, d0, _ := l.metrics()
					diskBefore += mib(d0)
					l.scan(b, rest) // warm the block cache
					t, _ := l.scan(b, rest)
					scanBefore += t

					// Drop task 0.
					start := time.Now()
					if lay.shared {
						if err := l.stores[0].DeleteRange(nil, nil); err != nil {
							b.Fatal(err)
						}
						drop += time.Since(start)
						if err := l.stores[0].Flush(); err != nil {
							b.Fatal(err)
						}
						dropFlush += time.Since(start)
					} else {
						if err := l.dbs[0].Close(); err != nil {
							b.Fatal(err)
						}
						if err := kv.DestroyPebble(l.taskDir(0), nil); err != nil {
							b.Fatal(err)
						}
						drop += time.Since(start)
						dropFlush += time.Since(start)
						l.dbs = l.dbs[1:]
					}
					_, _, d1, _ := l.metrics()
					diskAfterDrop += mib(d1)
					t, _ = l.scan(b, rest)
					scanAfter += t
					if lay.shared {
						t, n := l.scan(b, []int{0})
						if n != 0 {
							b.Fatalf("dropped task still has %d keys", n)
						}
						scanDropped += t
						db := l.dbs[0].Pebble()
						before := db.Metrics().Total().TableBytesCompacted
						start = time.Now()
						if err := db.Compact(context.Background(), taskPrefix(0), taskPrefix(1), true); err != nil {
							b.Fatal(err)
						}
						compact += time.Since(start)
						compactedMiB += mib(db.Metrics().Total().TableBytesCompacted - before)
						t, _ = l.scan(b, rest)
						scanCompacted += t
					}
					_, _, d2, _ := l.metrics()
					diskAfterCompact += mib(d2)
					l.close(b)
					cache.Unref()
				}
				n := float64(b.N)
				b.ReportMetric(ms(drop)/n, "drop-ms")
				b.ReportMetric(ms(dropFlush)/n, "drop+flush-ms")
				b.ReportMetric(ms(scanBefore)/n, "scan63-before-ms")
				b.ReportMetric(ms(scanAfter)/n, "scan63-after-drop-ms")
				b.ReportMetric(diskBefore/n, "sst-before-MiB")
				b.ReportMetric(diskAfterDrop/n, "sst-after-drop-MiB")
				if lay.shared {
					b.ReportMetric(float64(scanDropped.Microseconds())/n, "scan-dropped-µs")
					b.ReportMetric(ms(compact)/n, "compact-ms")
					b.ReportMetric(compactedMiB/n, "compacted-MiB")
					b.ReportMetric(ms(scanCompacted)/n, "scan63-after-compact-ms")
					b.ReportMetric(diskAfterCompact/n, "sst-after-compact-MiB")
				}
			})
		}
	}
}
