package state

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// declareDups declares "s", a persistent window store that retains
// duplicates.
func declareDups(b *topology.Builder) {
	AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, time.Hour, RetainDuplicates())
}

// lastSeq is the sequence number of the last changelog record sent.
func lastSeq(t *testing.T, out *sentRecords) uint32 {
	t.Helper()
	if len(out.recs) == 0 {
		t.Fatal("nothing logged")
	}
	k := out.recs[len(out.recs)-1].Key
	return binary.BigEndian.Uint32(k[len(k)-windowSeqLen:])
}

// dupValues lists the values of key in the window at ts, in store order.
func dupValues(t *testing.T, s *windowStore[string, string], key string, ts int64) []string {
	t.Helper()
	it, err := s.FetchRange(key, time.UnixMilli(ts), time.UnixMilli(ts))
	check(t, err)
	var got []string
	for it.Next() {
		got = append(got, it.Value())
	}
	check(t, it.Close())
	return got
}

func TestDuplicateSeqContinuesAfterReopen(t *testing.T) {
	for _, flushed := range []bool{true, false} {
		t.Run(fmt.Sprint("flushed=", flushed), func(t *testing.T) {
			fs := vfs.NewMem()
			task, out := openTask(t, fs, declareDups)
			s := task.StoreByName("s").(*windowStore[string, string])
			check(t, s.Put("k", "1", time.UnixMilli(10)))
			check(t, s.Put("k", "2", time.UnixMilli(10)))
			if got := lastSeq(t, out); got != 2 {
				t.Fatalf("second put's sequence number = %d, want 2", got)
			}
			if flushed {
				check(t, task.FlushStores())
				check(t, task.FlushStorage())
			}
			check(t, task.Close())

			task, out = openTask(t, fs, declareDups)
			defer task.Close()
			s = task.StoreByName("s").(*windowStore[string, string])
			check(t, s.Put("k", "3", time.UnixMilli(10)))
			if got := lastSeq(t, out); got <= 2 {
				t.Fatalf("sequence number after reopening = %d, want above 2", got)
			}
			if got := fmt.Sprint(dupValues(t, s, "k", 10)); got != "[1 2 3]" {
				t.Fatalf("duplicates after reopening = %s, want [1 2 3]", got)
			}
		})
	}
}

func TestDuplicateSeqContinuesAfterRestore(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			task, out := openTask(t, vfs.NewMem(), func(b *topology.Builder) {
				AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, time.Hour, append(e.opts, RetainDuplicates())...)
			})
			defer task.Close()
			s := task.StoreByName("s").(*windowStore[string, string])
			rec := func(key string, ts int64, seq uint32, v string) *kgo.Record {
				k := binary.BigEndian.AppendUint64([]byte(key), uint64(ts))
				return &kgo.Record{Key: binary.BigEndian.AppendUint32(k, seq), Value: []byte(v)}
			}
			// Changelog order is put order: the store continues after
			// the last record, whatever its key and window.
			check(t, s.Restore([]*kgo.Record{rec("k", 10, 900, "a"), rec("j", 10, 1000, "b")}))
			check(t, s.Restore([]*kgo.Record{rec("j", 20, 1001, "c")}))
			check(t, s.Put("k", "d", time.UnixMilli(10)))
			if got := lastSeq(t, out); got != 1002 {
				t.Fatalf("sequence number after restoring 1001 = %d, want 1002", got)
			}
			if got := fmt.Sprint(dupValues(t, s, "k", 10)); got != "[a d]" {
				t.Fatalf("duplicates = %s, want [a d]", got)
			}
		})
	}
}

// A store written before sequence numbers were reserved (numbered per key
// and window) continues after the highest number it holds.
func TestDuplicateSeqWithoutReservation(t *testing.T) {
	fs := vfs.NewMem()
	task, _ := openTask(t, fs, declareDups)
	s := task.StoreByName("s").(*windowStore[string, string])
	check(t, s.Put("a", "1", time.UnixMilli(10)))
	check(t, s.Put("b", "2", time.UnixMilli(10)))
	raw := binary.BigEndian.AppendUint32(s.rawPrefix([]byte("a"), 10), 7)
	check(t, s.db.Set(raw, []byte("old")))
	check(t, s.db.Delete(seqKey))
	check(t, task.Close())

	task, out := openTask(t, fs, declareDups)
	defer task.Close()
	s = task.StoreByName("s").(*windowStore[string, string])
	check(t, s.Put("a", "3", time.UnixMilli(10)))
	if got := lastSeq(t, out); got != 8 {
		t.Fatalf("sequence number = %d, want 8, after the highest stored", got)
	}
	if got := fmt.Sprint(dupValues(t, s, "a", 10)); got != "[1 old 3]" {
		t.Fatalf("duplicates = %s, want [1 old 3]", got)
	}
}
