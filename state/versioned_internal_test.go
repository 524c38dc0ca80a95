package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

func declareVersioned(retention time.Duration) func(*topology.Builder) {
	return func(b *topology.Builder) {
		AddVersionedKeyValueStore(b, "s", serde.String(), serde.String(), retention)
	}
}

// TestVersionedPersistsAcrossReopen checks that a persistent versioned
// store keeps its versions and its stream time in Pebble when its task
// closes and opens again: saved on Flush, or, after a crash that lost the
// record, recovered from the latest versions.
func TestVersionedPersistsAcrossReopen(t *testing.T) {
	for _, flushed := range []bool{true, false} {
		t.Run(fmt.Sprint("flushed=", flushed), func(t *testing.T) {
			fs := vfs.NewMem()
			declare := declareVersioned(100 * time.Second)
			task, _ := openTask(t, fs, declare)
			s := task.StoreByName("s").(*versionedStore[string, string])
			at := time.UnixMilli
			for _, v := range []struct {
				k, v string
				ts   int64
			}{{"k", "v1", 10}, {"k", "v2", 20}, {"k", "v0", 5}, {"other", "x", 100_010}} {
				if _, err := s.PutVersion(v.k, v.v, at(v.ts)); err != nil {
					t.Fatal(err)
				}
			}
			if flushed {
				check(t, task.FlushStores())
				check(t, task.FlushStorage())
			} else {
				check(t, s.db.Delete(metaKey))
			}
			check(t, task.Close())

			task, _ = openTask(t, fs, declare)
			defer task.Close()
			s = task.StoreByName("s").(*versionedStore[string, string])
			if !s.known || s.streamTime != 100_010 || s.saved != flushed {
				t.Fatalf("stream time after reopening = %d (known %v, saved %v), want 100010", s.streamTime, s.known, s.saved)
			}
			if r, ok, err := s.GetAsOf("k", at(12)); err != nil || !ok || r.Value != "v1" || r.ValidTo.UnixMilli() != 20 {
				t.Fatalf("k as of 12 = %+v, %v, %v; want v1 until 20", r, ok, err)
			}
			if r, ok, err := s.Get("k"); err != nil || !ok || r.Value != "v2" {
				t.Fatalf("latest k = %+v, %v, %v; want v2", r, ok, err)
			}
			// Stream time survived: a write older than the retention
			// is still refused, and so is a read.
			if res, err := s.PutVersion("late", "x", at(9)); err != nil || res.Stored {
				t.Fatalf("put older than the retention: %+v, %v; want it dropped", res, err)
			}
			if _, ok, _ := s.GetAsOf("k", at(7)); ok {
				t.Fatal("a read older than the retention returned a replaced version")
			}
		})
	}
}

// TestVersionedSegmentsDropped checks that replaced versions live in
// segments by the time they stopped being valid, and that a segment is
// deleted once stream time has moved a retention past all it holds, while
// latest versions never expire.
func TestVersionedSegmentsDropped(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			task, _ := openTask(t, vfs.NewMem(), func(b *topology.Builder) {
				AddVersionedKeyValueStore(b, "s", serde.String(), serde.String(), 2*time.Minute, e.opts...)
			})
			defer task.Close()
			s := task.StoreByName("s").(*versionedStore[string, string])
			at := time.UnixMilli
			put := func(k, v string, ts int64) {
				t.Helper()
				if _, err := s.PutVersion(k, v, at(ts)); err != nil {
					t.Fatal(err)
				}
			}
			// Segments of 60 s: a's first version ends in segment 0,
			// b's in segment 2.
			put("a", "a1", 1_000)
			put("a", "a2", 2_000)
			put("b", "b1", 100_000)
			put("b", "b2", 130_000)
			sameStrings(t, historyKeys(t, s), []string{"0/a/2000/1000", "2/b/130000/100000"})
			// Stream time 200000: a1's validity ended at 2000, before
			// 200000 - 120000; its segment goes.
			put("c", "c1", 200_000)
			sameStrings(t, historyKeys(t, s), []string{"2/b/130000/100000"})
			if r, ok, _ := s.Get("a"); !ok || r.Value != "a2" {
				t.Fatal("the latest version of a expired with its history")
			}
		})
	}
}

// historyKeys lists a versioned store's history entries as
// "segment/key/validTo/validFrom".
func historyKeys(t *testing.T, s *versionedStore[string, string]) []string {
	t.Helper()
	it := s.db.Iter(nil, latestPrefix, false)
	var out []string
	for it.Next() {
		k := it.Key()
		key, rest, err := decodeEscaped(nil, k[segPrefixLen:])
		if err != nil {
			t.Fatalf("entry key %x: %v", k, err)
		}
		out = append(out, fmt.Sprintf("%d/%s/%d/%d", readTime(k), key, readTime(rest), readTime(rest[8:])))
	}
	check(t, it.Close())
	return out
}
