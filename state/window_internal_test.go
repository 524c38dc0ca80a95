package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// These tests look under the typed stores, at the kv layer, and reopen
// persistent stores; they build tasks directly rather than through the test
// driver (which imports this package).

type sentRecords struct{ recs []*kgo.Record }

func (c *sentRecords) Send(r *kgo.Record) error           { c.recs = append(c.recs, r); return nil }
func (c *sentRecords) PartitionCount(string) (int, error) { return 1, nil }

type nopProcessor struct{}

func (nopProcessor) Init(topology.Context[string, string]) error   { return nil }
func (nopProcessor) Process(topology.Record[string, string]) error { return nil }
func (nopProcessor) Close() error                                  { return nil }

// openTask builds a one-processor topology whose processor uses store "s",
// declared by declare, and opens a task of it whose persistent state lives
// in fs.
func openTask(t *testing.T, fs vfs.FS, declare func(*topology.Builder)) (*engine.Task, *sentRecords) {
	t.Helper()
	return openTaskWith(t, kv.PebbleOptions{FS: fs}, declare)
}

// openTaskWith is openTask with the given options for the task's Pebble
// database.
func openTaskWith(t *testing.T, opts kv.PebbleOptions, declare func(*topology.Builder)) (*engine.Task, *sentRecords) {
	t.Helper()
	b := topology.NewBuilder()
	declare(b)
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return nopProcessor{} }, "src")
	b.ConnectStores("p", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	et := engine.Built(*top).Topology()
	out := &sentRecords{}
	task, err := engine.NewTask(et, et.Subtopologies[0], 0, engine.TaskConfig{
		ApplicationID: "app",
		Collector:     out,
		State: engine.StateConfig{Dir: "/state", Open: func(dir string) (engine.TaskStorage, error) {
			return kv.OpenPebble(dir, opts)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.InitStores(); err != nil {
		t.Fatal(err)
	}
	return task, out
}

// rawKeys lists a segmented store's entry keys, decoded as
// "segment/key/time/rest".
func rawKeys(t *testing.T, s *segmented) []string {
	t.Helper()
	it := s.db.Iter(nil, metaPrefix, false)
	var out []string
	for it.Next() {
		k := it.Key()
		key, rest, err := decodeEscaped(nil, k[segPrefixLen:])
		if err != nil {
			t.Fatalf("entry key %x: %v", k, err)
		}
		out = append(out, fmt.Sprintf("%d/%s/%d/%x", readTime(k), key, readTime(rest), rest[8:]))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameStrings(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

var engines = []struct {
	name string
	opts []Option
}{{"pebble", nil}, {"memory", []Option{InMemory()}}}

func TestWindowSegmentsDropped(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			task, out := openTask(t, vfs.NewMem(), func(b *topology.Builder) {
				// Retention 2 min: segments of 1 min.
				AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, 2*time.Minute, e.opts...)
			})
			defer task.Close()
			s := task.StoreByName("s").(*windowStore[string, string])
			at := time.UnixMilli
			check(t, s.Put("a", "v", at(0)))
			check(t, s.Put("a", "v", at(59_999)))
			check(t, s.Put("b", "v", at(60_000)))
			check(t, s.Put("a", "v", at(120_000)))
			sameStrings(t, rawKeys(t, &s.segmented), []string{"0/a/0/00000000", "0/a/59999/00000000", "1/b/60000/00000000", "2/a/120000/00000000"})
			// Stream time 179999: minimum live start 60000, so
			// segment 0 (0 to 59999) has expired as a whole.
			check(t, s.Put("c", "v", at(179_999)))
			sameStrings(t, rawKeys(t, &s.segmented), []string{"1/b/60000/00000000", "2/a/120000/00000000", "2/c/179999/00000000"})
			// Stream time 180000: window 60000 has expired but
			// segment 1 still holds 60001 to 119999, which have not.
			check(t, s.Put("c", "v", at(180_000)))
			if got := rawKeys(t, &s.segmented); len(got) != 4 || got[0] != "1/b/60000/00000000" {
				t.Fatalf("segment 1 dropped early: %q", got)
			}
			if _, ok, _ := s.Fetch("b", at(60_000)); ok {
				t.Fatal("an expired window in a live segment was returned")
			}
			// Late puts are dropped, counted and not logged.
			logged := len(out.recs)
			check(t, s.Put("z", "late", at(60_000)))
			check(t, s.Put("z", "late", at(-5)))
			if s.dropped != 2 || len(out.recs) != logged {
				t.Fatalf("dropped = %d, logged %d more records; want 2 and 0", s.dropped, len(out.recs)-logged)
			}
			// A big jump drops every older segment at once.
			check(t, s.Put("d", "v", at(10_000_000)))
			sameStrings(t, rawKeys(t, &s.segmented), []string{"166/d/10000000/00000000"})
		})
	}
}

func TestWindowLayoutBytes(t *testing.T) {
	task, _ := openTask(t, vfs.NewMem(), func(b *topology.Builder) {
		AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, time.Hour, InMemory(), RetainDuplicates())
	})
	defer task.Close()
	s := task.StoreByName("s").(*windowStore[string, string])
	check(t, s.Put("a\x00b", "v", time.UnixMilli(1_800_001)))
	check(t, s.Put("a\x00b", "v", time.UnixMilli(1_800_001)))
	var want [][]byte
	for seq := byte(1); seq <= 2; seq++ {
		k := binary.BigEndian.AppendUint64(nil, 1^1<<63) // segment 1: 30 min
		k = append(k, 'a', 0, 0xFF, 'b', 0, 1)
		k = binary.BigEndian.AppendUint64(k, 1_800_001^1<<63)
		want = append(want, append(k, 0, 0, 0, seq))
	}
	it := s.db.Iter(nil, nil, false)
	var got [][]byte
	for it.Next() {
		got = append(got, append([]byte(nil), it.Key()...))
	}
	check(t, it.Close())
	if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Fatalf("kv keys\n% x\nwant\n% x", got, want)
	}
}

func TestWindowStreamTimeSurvivesReopen(t *testing.T) {
	for _, flushed := range []bool{true, false} {
		t.Run(fmt.Sprint("flushed=", flushed), func(t *testing.T) {
			fs := vfs.NewMem()
			declare := func(b *topology.Builder) {
				AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, 2*time.Minute)
			}
			task, _ := openTask(t, fs, declare)
			s := task.StoreByName("s").(*windowStore[string, string])
			at := time.UnixMilli
			check(t, s.Put("a", "old", at(50_000)))
			check(t, s.Put("b", "new", at(100_000)))
			check(t, s.Put("b", "newer", at(170_001)))
			if flushed {
				check(t, task.FlushStores())
				check(t, task.FlushStorage())
			} else {
				// Puts save the stream time as they move it;
				// without the record (a crash before it was
				// written), the store recovers it from its
				// entries.
				check(t, s.db.Delete(metaKey))
			}
			check(t, task.Close())

			task, _ = openTask(t, fs, declare)
			defer task.Close()
			s = task.StoreByName("s").(*windowStore[string, string])
			if !s.known || s.streamTime != 170_001 {
				t.Fatalf("stream time after reopening = %d (known %v), want 170001", s.streamTime, s.known)
			}
			if s.saved != flushed {
				t.Fatalf("stream time read from the saved record: %v, want %v", s.saved, flushed)
			}
			if _, ok, _ := s.Fetch("a", at(50_000)); ok {
				t.Fatal("a window expired before the restart is returned after it")
			}
			if v, ok, _ := s.Fetch("b", at(100_000)); !ok || v != "new" {
				t.Fatalf("Fetch(b, 100000) = %q, %v", v, ok)
			}
		})
	}
}

// TestWindowStreamTimeWithWriteBuffer checks that over a write buffer, puts
// leave saving stream time to the buffer's commits, which save it: on Flush,
// and when the store closes without one.
func TestWindowStreamTimeWithWriteBuffer(t *testing.T) {
	for _, flushed := range []bool{true, false} {
		t.Run(fmt.Sprint("flushed=", flushed), func(t *testing.T) {
			opts := kv.PebbleOptions{FS: vfs.NewMem(), WriteBuffer: kv.DefaultWriteBuffer}
			declare := func(b *topology.Builder) {
				AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, 2*time.Minute)
			}
			task, _ := openTaskWith(t, opts, declare)
			s := task.StoreByName("s").(*windowStore[string, string])
			at := time.UnixMilli
			check(t, s.Put("a", "old", at(50_000)))
			check(t, s.Put("b", "new", at(170_001)))
			if _, ok, err := s.db.Get(metaKey); err != nil || ok {
				t.Fatalf("stream time saved by a put (%v, %v); want it left to the buffer's commit", ok, err)
			}
			if flushed {
				check(t, task.FlushStores())
				check(t, task.FlushStorage())
				if v, ok, err := s.db.Get(metaKey); err != nil || !ok || readTime(v) != 170_001 {
					t.Fatalf("stream time after Flush: %x, %v, %v", v, ok, err)
				}
			}
			check(t, task.Close())

			task, _ = openTaskWith(t, opts, declare)
			defer task.Close()
			s = task.StoreByName("s").(*windowStore[string, string])
			if !s.known || !s.saved || s.streamTime != 170_001 {
				t.Fatalf("stream time after reopening = %d (known %v, saved %v), want 170001 saved", s.streamTime, s.known, s.saved)
			}
			if _, ok, _ := s.Fetch("a", at(50_000)); ok {
				t.Fatal("a window expired before the restart is returned after it")
			}
		})
	}
}

func TestSessionSegmentsDropped(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			task, out := openTask(t, vfs.NewMem(), func(b *topology.Builder) {
				AddSessionStore(b, "s", serde.String(), serde.String(), 2*time.Minute, e.opts...)
			})
			defer task.Close()
			s := task.StoreByName("s").(*sessionStore[string, string])
			sess := func(k string, start, end int64) window.Windowed[string] {
				return window.Windowed[string]{Key: k, Window: window.Window{Start: time.UnixMilli(start), End: time.UnixMilli(end)}}
			}
			check(t, s.Put(sess("a", 0, 10), "v"))
			check(t, s.Put(sess("a", 20, 70_000), "v"))
			check(t, s.Put(sess("b", 100_000, 130_000), "v"))
			sameStrings(t, rawKeys(t, &s.segmented), []string{
				fmt.Sprintf("0/a/10/%x", appendTime(nil, 0)),
				fmt.Sprintf("1/a/70000/%x", appendTime(nil, 20)),
				fmt.Sprintf("2/b/130000/%x", appendTime(nil, 100_000)),
			})
			// Stream time 180000: sessions ending at or before 60000
			// expire, and segment 0 with them.
			check(t, s.Put(sess("c", 180_000, 180_000), "v"))
			if got := rawKeys(t, &s.segmented); len(got) != 3 || got[0][:2] != "1/" {
				t.Fatalf("entries = %q, want segment 0 dropped", got)
			}
			logged := len(out.recs)
			check(t, s.Put(sess("late", 0, 60_000), "v"))
			check(t, s.Remove(sess("a", 0, 10)))
			if s.dropped != 2 || len(out.recs) != logged {
				t.Fatalf("dropped = %d, logged %d more records; want 2 and 0", s.dropped, len(out.recs)-logged)
			}
		})
	}
}
