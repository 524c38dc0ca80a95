package state_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// The tests of this file replay Kafka Streams' RocksDBVersionedStoreTest
// with its constants: a history retention of 300 s, timestamps around its
// segment interval of 100 s (Strata's segments are max(retention/2, 60s),
// which the results do not depend on), and base timestamp 10. Values are
// *string, nil standing for Kafka's null.
const (
	vRetention = 300_000
	vSegment   = 100_000
	vBase      = 10
	// putLatest and putNotPut are Kafka's PUT_RETURN_CODE_VALID_TO_UNDEFINED
	// and PUT_RETURN_CODE_NOT_PUT.
	putLatest = -1
	putNotPut = math.MinInt64
)

// vh is a versioned store "s" of string keys and *string values in a
// one-task topology.
type vh struct {
	t *testing.T
	d *testutil.Driver
	s state.VersionedKeyValueStore[string, *string]
}

func newVersioned(t *testing.T, retention time.Duration, opts ...state.Option) *vh {
	t.Helper()
	h := &vh{t: t}
	top := windowTopology(t, func(b *topology.Builder) {
		state.AddVersionedKeyValueStore(b, "s", serde.String(), serde.Ptr(serde.String()), retention, opts...)
	}, func(ctx topology.Context[string, string]) (err error) {
		h.s, err = state.LookupVersioned[string, *string](ctx, "s")
		return err
	})
	h.d = testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app"})
	return h
}

func sp(s string) *string { return &s }

// put is Kafka's putToStore: it puts v (nil: a tombstone) and checks the
// returned validTo, putLatest or putNotPut.
func (h *vh) put(k string, v *string, ts, wantValidTo int64) {
	h.t.Helper()
	res, err := h.s.PutVersion(k, v, at(ts))
	if err != nil {
		h.t.Fatalf("put %s@%d: %v", k, ts, err)
	}
	var got int64
	switch {
	case !res.Stored:
		got = putNotPut
	case res.Latest:
		got = putLatest
	default:
		got = res.ValidTo.UnixMilli()
	}
	if got != wantValidTo {
		h.t.Fatalf("put %s=%v@%d returned validTo %d, want %d", k, deref(v), ts, got, wantValidTo)
	}
}

func deref(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// latest is Kafka's verifyGetValueFromStore (v non-nil) and
// verifyGetNullFromStore (v nil).
func (h *vh) latest(k string, v *string, ts int64) {
	h.t.Helper()
	got, ok, err := h.s.Get(k)
	switch {
	case err != nil:
		h.t.Fatalf("get %s: %v", k, err)
	case v == nil && ok:
		h.t.Fatalf("get %s = %s@%d, want none", k, deref(got.Value), got.Timestamp.UnixMilli())
	case v != nil && (!ok || deref(got.Value) != *v || got.Timestamp.UnixMilli() != ts):
		h.t.Fatalf("get %s = %s@%d (%v), want %s@%d", k, deref(got.Value), got.Timestamp.UnixMilli(), ok, *v, ts)
	}
}

// asOf is Kafka's verifyTimestampedGetValueFromStore (v non-nil; validTo
// putLatest for the latest version) and verifyTimestampedGetNullFromStore
// (v nil).
func (h *vh) asOf(k string, asOf int64, v *string, from, validTo int64) {
	h.t.Helper()
	got, ok, err := h.s.GetAsOf(k, at(asOf))
	if err != nil {
		h.t.Fatalf("get %s as of %d: %v", k, asOf, err)
	}
	show := func(r state.VersionedRecord[*string], ok bool) string {
		if !ok {
			return "none"
		}
		to := int64(putLatest)
		if r.HasValidTo {
			to = r.ValidTo.UnixMilli()
		}
		return fmt.Sprintf("%s [%d, %d)", deref(r.Value), r.Timestamp.UnixMilli(), to)
	}
	want := "none"
	if v != nil {
		want = show(state.VersionedRecord[*string]{Value: v, Timestamp: at(from), ValidTo: at(validTo), HasValidTo: validTo != putLatest}, true)
	}
	if g := show(got, ok); g != want {
		h.t.Fatalf("get %s as of %d = %s, want %s", k, asOf, g, want)
	}
}

func (h *vh) none(k string, asOf int64) { h.t.Helper(); h.asOf(k, asOf, nil, 0, 0) }

func (h *vh) deleteAt(k string, ts int64, want *string, wantTs int64) {
	h.t.Helper()
	old, ok, err := h.s.DeleteAt(k, at(ts))
	switch {
	case err != nil:
		h.t.Fatalf("delete %s@%d: %v", k, ts, err)
	case want == nil && ok:
		h.t.Fatalf("delete %s@%d returned %s@%d, want none", k, ts, deref(old.Value), old.Timestamp.UnixMilli())
	case want != nil && (!ok || deref(old.Value) != *want || old.Timestamp.UnixMilli() != wantTs):
		h.t.Fatalf("delete %s@%d returned %s@%d (%v), want %s@%d", k, ts, deref(old.Value), old.Timestamp.UnixMilli(), ok, *want, wantTs)
	}
}

// versionedCases are RocksDBVersionedStoreTest's tests of puts, gets and
// deletes.
var versionedCases = []struct {
	name string
	run  func(h *vh)
}{
	{"shouldPutLatest", func(h *vh) {
		h.put("k", sp("v"), vBase, putLatest)
		h.put("k", sp("v2"), vBase+1, putLatest)
		h.latest("k", sp("v2"), vBase+1)
		h.asOf("k", vBase, sp("v"), vBase, vBase+1)
		h.asOf("k", vBase+1, sp("v2"), vBase+1, putLatest)
		h.asOf("k", vBase+2, sp("v2"), vBase+1, putLatest)
	}},
	{"shouldPutNullAsLatest", func(h *vh) {
		h.put("k", nil, vBase, putLatest)
		h.put("k", nil, vBase+1, putLatest)
		h.latest("k", nil, 0)
		h.none("k", vBase)
		h.none("k", vBase+1)
		h.none("k", vBase+2)
	}},
	{"shouldPutOlderWithNonNullLatest", func(h *vh) {
		h.put("k", sp("v"), vBase, putLatest)
		h.put("k", sp("v2"), vBase-2, vBase)
		h.put("k", sp("v1"), vBase-1, vBase)
		h.put("k", sp("v4"), vBase-4, vBase-2)
		h.latest("k", sp("v"), vBase)
		h.asOf("k", vBase, sp("v"), vBase, putLatest)
		h.asOf("k", vBase-1, sp("v1"), vBase-1, vBase)
		h.asOf("k", vBase-2, sp("v2"), vBase-2, vBase-1)
		h.asOf("k", vBase-3, sp("v4"), vBase-4, vBase-2)
	}},
	{"shouldPutOlderWithNullLatest", func(h *vh) {
		h.put("k", nil, vBase, putLatest)
		h.put("k", sp("v2"), vBase-2, vBase)
		h.put("k", sp("v1"), vBase-1, vBase)
		h.put("k", sp("v4"), vBase-4, vBase-2)
		h.latest("k", nil, 0)
		h.none("k", vBase)
		h.asOf("k", vBase-1, sp("v1"), vBase-1, vBase)
		h.asOf("k", vBase-2, sp("v2"), vBase-2, vBase-1)
		h.asOf("k", vBase-3, sp("v4"), vBase-4, vBase-2)
	}},
	{"shouldPutOlderNullWithNonNullLatest", func(h *vh) {
		h.put("k", sp("v"), vBase, putLatest)
		h.put("k", nil, vBase-2, vBase)
		h.put("k", nil, vBase-1, vBase)
		h.put("k", nil, vBase-4, vBase-2)
		h.put("k", sp("v5"), vBase-5, vBase-4)
		h.put("k", sp("v3"), vBase-3, vBase-2)
		h.put("k", nil, vBase-6, vBase-5)
		h.latest("k", sp("v"), vBase)
		h.asOf("k", vBase, sp("v"), vBase, putLatest)
		h.none("k", vBase-1)
		h.none("k", vBase-2)
		h.asOf("k", vBase-3, sp("v3"), vBase-3, vBase-2)
		h.none("k", vBase-4)
		h.asOf("k", vBase-5, sp("v5"), vBase-5, vBase-4)
		h.none("k", vBase-6)
	}},
	{"shouldPutOlderNullWithNullLatest", func(h *vh) {
		h.put("k", nil, vBase, putLatest)
		h.put("k", nil, vBase-2, vBase)
		h.put("k", nil, vBase-1, vBase)
		h.put("k", nil, vBase-4, vBase-2)
		h.put("k", sp("v3"), vBase-3, vBase-2)
		h.put("k", sp("v5"), vBase-5, vBase-4)
		h.put("k", nil, vBase-6, vBase-5)
		h.latest("k", nil, 0)
		h.none("k", vBase)
		h.none("k", vBase-1)
		h.none("k", vBase-2)
		h.asOf("k", vBase-3, sp("v3"), vBase-3, vBase-2)
		h.none("k", vBase-4)
		h.asOf("k", vBase-5, sp("v5"), vBase-5, vBase-4)
		h.none("k", vBase-6)
	}},
	{"shouldPutRepeatTimestampAsLatest", func(h *vh) {
		h.put("k", sp("to_be_replaced"), vBase, putLatest)
		h.put("k", sp("b"), vBase, putLatest)
		h.latest("k", sp("b"), vBase)
		h.asOf("k", vBase, sp("b"), vBase, putLatest)
		h.none("k", vBase-1)
		h.put("k", nil, vBase, putLatest)
		h.latest("k", nil, 0)
		h.none("k", vBase)
		h.none("k", vBase-1)
		h.put("k", nil, vBase, putLatest)
		h.latest("k", nil, 0)
		h.none("k", vBase)
		h.none("k", vBase-1)
		h.put("k", sp("b"), vBase, putLatest)
		h.latest("k", sp("b"), vBase)
		h.asOf("k", vBase, sp("b"), vBase, putLatest)
		h.none("k", vBase-1)
	}},
	{"shouldPutRepeatTimestamps", func(h *vh) {
		h.put("k", sp("to_be_replaced"), vSegment+20, putLatest)
		h.put("k", nil, vSegment-10, vSegment+20)
		h.put("k", sp("to_be_replaced"), vSegment-10, vSegment+20)
		h.put("k", nil, vSegment-10, vSegment+20)
		h.put("k", sp("to_be_replaced"), vSegment-1, vSegment+20)
		h.put("k", sp("to_be_replaced"), vSegment+1, vSegment+20)
		h.put("k", nil, vSegment-1, vSegment+1)
		h.put("k", nil, vSegment+1, vSegment+20)
		h.put("k", nil, vSegment+10, vSegment+20)
		h.put("k", nil, vSegment+5, vSegment+10)
		h.put("k", sp("vp5"), vSegment+5, vSegment+10)
		h.put("k", sp("to_be_replaced"), vSegment-5, vSegment-1)
		h.put("k", sp("vn5"), vSegment-5, vSegment-1)
		h.put("k", nil, vSegment+20, putLatest)
		h.put("k", nil, vSegment+20, putLatest)
		h.put("k", sp("vn6"), vSegment-6, vSegment-5)
		h.latest("k", nil, 0)
		h.none("k", vSegment+30)
		h.none("k", vSegment+15)
		h.asOf("k", vSegment+6, sp("vp5"), vSegment+5, vSegment+10)
		h.none("k", vSegment+2)
		h.none("k", vSegment)
		h.none("k", vSegment-1)
		h.asOf("k", vSegment-5, sp("vn5"), vSegment-5, vSegment-1)
		h.asOf("k", vSegment-6, sp("vn6"), vSegment-6, vSegment-5)
		h.none("k", vSegment-8)
	}},
	{"shouldPutIntoMultipleSegments", func(h *vh) {
		h.put("k", nil, vSegment-20, putLatest)
		h.put("k", sp("vn10"), vSegment-10, putLatest)
		h.put("k", nil, vSegment-1, putLatest)
		h.put("k", nil, vSegment+1, putLatest)
		h.put("k", sp("vp10"), vSegment+10, putLatest)
		h.put("k", nil, vSegment+20, putLatest)
		h.latest("k", nil, 0)
		h.none("k", vSegment+30)
		h.asOf("k", vSegment+15, sp("vp10"), vSegment+10, vSegment+20)
		h.none("k", vSegment+5)
		h.none("k", vSegment+2)
		h.none("k", vSegment)
		h.none("k", vSegment-1)
		h.asOf("k", vSegment-5, sp("vn10"), vSegment-10, vSegment-1)
		h.none("k", vSegment-15)
	}},
	{"shouldMoveRecordToOlderSegmentDuringPut", func(h *vh) {
		h.put("k", sp("vp20"), vSegment+20, putLatest)
		h.put("k", sp("vp10"), vSegment+10, vSegment+20)
		h.put("k", sp("vn10"), vSegment-10, vSegment+10)
		h.put("k", sp("vn2"), vSegment-2, vSegment+10)
		h.put("k", sp("vn1"), vSegment-1, vSegment+10)
		h.put("k", sp("vp1"), vSegment+1, vSegment+10)
		h.latest("k", sp("vp20"), vSegment+20)
		h.asOf("k", vSegment+30, sp("vp20"), vSegment+20, putLatest)
		h.asOf("k", vSegment+15, sp("vp10"), vSegment+10, vSegment+20)
		h.asOf("k", vSegment+5, sp("vp1"), vSegment+1, vSegment+10)
		h.asOf("k", vSegment, sp("vn1"), vSegment-1, vSegment+1)
		h.asOf("k", vSegment-1, sp("vn1"), vSegment-1, vSegment+1)
		h.asOf("k", vSegment-2, sp("vn2"), vSegment-2, vSegment-1)
		h.asOf("k", vSegment-5, sp("vn10"), vSegment-10, vSegment-2)
	}},
	{"shouldMoveRecordToOlderSegmentWithNullsDuringPut", func(h *vh) {
		h.put("k", nil, vSegment+20, putLatest)
		h.put("k", nil, vSegment-1, vSegment+20)
		h.put("k", nil, vSegment+1, vSegment+20)
		h.put("k", nil, vSegment-10, vSegment-1)
		h.put("k", nil, vSegment+10, vSegment+20)
		h.put("k", sp("vp5"), vSegment+5, vSegment+10)
		h.put("k", sp("vn5"), vSegment-5, vSegment-1)
		h.put("k", sp("vn6"), vSegment-6, vSegment-5)
		h.latest("k", nil, 0)
		h.none("k", vSegment+30)
		h.none("k", vSegment+15)
		h.asOf("k", vSegment+6, sp("vp5"), vSegment+5, vSegment+10)
		h.none("k", vSegment+2)
		h.none("k", vSegment)
		h.none("k", vSegment-1)
		h.asOf("k", vSegment-5, sp("vn5"), vSegment-5, vSegment-1)
		h.asOf("k", vSegment-6, sp("vn6"), vSegment-6, vSegment-5)
		h.none("k", vSegment-8)
	}},
	{"shouldFallThroughToExistingOlderSegmentAsLatestDuringPut", func(h *vh) {
		h.put("k", nil, vSegment-5, putLatest)
		h.put("k", sp("vn6"), vSegment-6, vSegment-5)
		h.put("k", sp("vp20"), vSegment+20, putLatest)
		h.put("k", nil, vSegment+10, vSegment+20)
		h.put("k", nil, vSegment-1, vSegment+10)
		h.put("k", sp("vn2"), vSegment-2, vSegment-1)
		h.latest("k", sp("vp20"), vSegment+20)
		h.asOf("k", vSegment+30, sp("vp20"), vSegment+20, putLatest)
		h.none("k", vSegment+12)
		h.none("k", vSegment)
		h.none("k", vSegment-1)
		h.asOf("k", vSegment-2, sp("vn2"), vSegment-2, vSegment-1)
		h.none("k", vSegment-5)
		h.asOf("k", vSegment-6, sp("vn6"), vSegment-6, vSegment-5)
	}},
	{"shouldPutNonLatestTombstoneIntoNewSegmentWithValidTo", func(h *vh) {
		h.put("k", sp("vp30"), vSegment+30, putLatest)
		h.put("k", nil, vSegment-10, vSegment+30)
		h.put("k", sp("vn5"), vSegment-5, vSegment+30)
		h.put("k", sp("vn1"), vSegment-1, vSegment+30)
		h.put("k", nil, vSegment-2, vSegment-1)
		h.latest("k", sp("vp30"), vSegment+30)
		h.asOf("k", vSegment+10, sp("vn1"), vSegment-1, vSegment+30)
		h.asOf("k", vSegment-1, sp("vn1"), vSegment-1, vSegment+30)
		h.none("k", vSegment-2)
		h.asOf("k", vSegment-5, sp("vn5"), vSegment-5, vSegment-2)
		h.none("k", vSegment-10)
	}},
	{"shouldDelete", func(h *vh) {
		h.put("k", sp("vp20"), vSegment+20, putLatest)
		h.put("k", sp("vp10"), vSegment+10, vSegment+20)
		h.put("k", sp("vn10"), vSegment-10, vSegment+10)
		h.put("k", sp("vn2"), vSegment-2, vSegment+10)
		h.deleteAt("k", vSegment-5, sp("vn10"), vSegment-10)
		h.deleteAt("k", vSegment+10, sp("vp10"), vSegment+10)
		h.deleteAt("k", vSegment+10, nil, 0)
		h.deleteAt("k", vSegment+25, sp("vp20"), vSegment+20)
	}},
	{"shouldNotPutExpired", func(h *vh) {
		h.put("k", sp("v"), vRetention+10, putLatest)
		h.put("k1", sp("v1"), vRetention+10-vRetention, putLatest)
		h.latest("k1", sp("v1"), 10)
		h.put("k2", sp("v2"), vRetention+9-vRetention, putNotPut)
		h.latest("k2", nil, 0)
	}},
	{"shouldNotDeleteExpired", func(h *vh) {
		h.put("k1", sp("v1"), 1, putLatest)
		h.put("k2", sp("v2"), 1, putLatest)
		h.put("kother", sp("vother"), vRetention+10, putLatest)
		h.deleteAt("k1", vRetention+10-vRetention, sp("v1"), 1)
		h.latest("k1", nil, 0)
		h.deleteAt("k2", vRetention+9-vRetention, nil, 0)
		h.latest("k2", sp("v2"), 1)
	}},
	{"shouldGetFromOlderSegments", func(h *vh) {
		h.put("ko", nil, vSegment-10, putLatest)
		h.put("ko", nil, 2*vSegment-10, putLatest)
		h.put("ko", nil, 3*vSegment-10, putLatest)
		h.none("k", vSegment-20)
		h.put("k", sp("v"), vSegment-20, putLatest)
		h.put("k", nil, vSegment-10, putLatest)
		h.none("k", vSegment-30)
		h.asOf("k", vSegment-15, sp("v"), vSegment-20, vSegment-10)
		h.none("k", vSegment-5)
		h.put("k", sp("v2"), 3*vSegment-20, putLatest)
		h.put("k", nil, 3*vSegment-10, putLatest)
		h.none("k", vSegment-30)
		h.asOf("k", vSegment-15, sp("v"), vSegment-20, vSegment-10)
		h.none("k", vSegment-5)
	}},
	{"shouldNotGetExpired", func(h *vh) {
		h.put("k", sp("v_old"), 0, putLatest)
		h.put("k", sp("v"), vSegment-10, putLatest)
		h.asOf("k", vSegment-11, sp("v_old"), 0, vSegment-10)
		h.put("ko", sp("vo"), vRetention+vSegment-11, putLatest)
		h.asOf("k", vSegment-11, sp("v_old"), 0, vSegment-10)
		h.put("ko", sp("vo2"), vRetention+vSegment-10, putLatest)
		h.none("k", vSegment-11)
	}},
	{"shouldGetExpiredIfLatestValue", func(h *vh) {
		h.put("k", sp("v"), 1, putLatest)
		h.put("ko", sp("vo_old"), 1, putLatest)
		h.put("ko", sp("vo_new"), vRetention+12, putLatest)
		h.asOf("k", 10, sp("v"), 1, putLatest)
		h.none("ko", 10)
	}},
	{"shouldDistinguishEmptyAndNull", func(h *vh) {
		h.put("k", nil, vSegment+20, putLatest)
		h.put("k", nil, vSegment-10, vSegment+20)
		h.put("k", nil, vSegment-1, vSegment+20)
		h.put("k", nil, vSegment+1, vSegment+20)
		h.put("k", nil, vSegment+10, vSegment+20)
		h.put("k", sp(""), vSegment+5, vSegment+10)
		h.put("k", sp(""), vSegment-5, vSegment-1)
		h.put("k", sp(""), vSegment-6, vSegment-5)
		h.latest("k", nil, 0)
		h.none("k", vSegment+30)
		h.none("k", vSegment+15)
		h.asOf("k", vSegment+6, sp(""), vSegment+5, vSegment+10)
		h.none("k", vSegment+2)
		h.none("k", vSegment)
		h.none("k", vSegment-1)
		h.asOf("k", vSegment-5, sp(""), vSegment-5, vSegment-1)
		h.asOf("k", vSegment-6, sp(""), vSegment-6, vSegment-5)
		h.none("k", vSegment-8)
	}},
}

func TestVersionedStore(t *testing.T) {
	for _, kind := range kvKinds {
		for _, tc := range versionedCases {
			t.Run(kind.name+"/RocksDBVersionedStoreTest."+tc.name, func(t *testing.T) {
				tc.run(newVersioned(t, vRetention*time.Millisecond, kind.opts...))
			})
		}
	}
}

// TestVersionedStoreZeroHistoryRetention mirrors RocksDBVersionedStoreTest.
// shouldAllowZeroHistoryRetention: only latest versions are kept.
func TestVersionedStoreZeroHistoryRetention(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newVersioned(t, 0, kind.opts...)
			h.put("k", sp("v"), vBase, putLatest)
			h.latest("k", sp("v"), vBase)
			h.asOf("k", vBase, sp("v"), vBase, putLatest)
			h.asOf("k", vBase+1, sp("v"), vBase, putLatest)
			h.put("k", sp("updated"), vBase, putLatest)
			h.latest("k", sp("updated"), vBase)
			h.asOf("k", vBase, sp("updated"), vBase, putLatest)
			h.put("k", sp("v2"), vBase+2, putLatest)
			h.latest("k", sp("v2"), vBase+2)
			h.asOf("k", vBase+2, sp("v2"), vBase+2, putLatest)
			h.none("k", vBase+1)
			h.deleteAt("k", vBase+3, sp("v2"), vBase+2)
			h.latest("k", nil, 0)
			h.put("k2", sp("v"), vBase+2, putNotPut)
			h.latest("k2", nil, 0)
		})
	}
}

// TestVersionedStoreRestore mirrors RocksDBVersionedStoreTest's restore
// tests: the changelog a store writes, one record per version stamped
// with its timestamp, restores the same versions into a fresh store, in
// one batch or several.
func TestVersionedStoreRestore(t *testing.T) {
	type rec struct {
		k  string
		v  *string
		ts int64
	}
	for _, tc := range []struct {
		name  string
		recs  []rec
		split int // restore recs[:split] then the rest
		check func(h *vh)
	}{
		{"shouldRestore", []rec{
			{"k", sp("vp20"), vSegment + 20}, {"k", sp("vp10"), vSegment + 10}, {"k", sp("vn10"), vSegment - 10},
			{"k", sp("vn2"), vSegment - 2}, {"k", sp("vn1"), vSegment - 1}, {"k", sp("vp1"), vSegment + 1},
		}, 0, func(h *vh) {
			h.latest("k", sp("vp20"), vSegment+20)
			h.asOf("k", vSegment+30, sp("vp20"), vSegment+20, putLatest)
			h.asOf("k", vSegment+15, sp("vp10"), vSegment+10, vSegment+20)
			h.asOf("k", vSegment+5, sp("vp1"), vSegment+1, vSegment+10)
			h.asOf("k", vSegment, sp("vn1"), vSegment-1, vSegment+1)
			h.asOf("k", vSegment-1, sp("vn1"), vSegment-1, vSegment+1)
			h.asOf("k", vSegment-2, sp("vn2"), vSegment-2, vSegment-1)
			h.asOf("k", vSegment-5, sp("vn10"), vSegment-10, vSegment-2)
		}},
		{"shouldRestoreWithNulls", []rec{
			{"k", nil, vSegment + 20}, {"k", nil, vSegment - 1}, {"k", nil, vSegment + 1}, {"k", nil, vSegment - 10},
			{"k", nil, vSegment + 10}, {"k", sp("vp5"), vSegment + 5}, {"k", sp("vn5"), vSegment - 5}, {"k", sp("vn6"), vSegment - 6},
		}, 0, func(h *vh) {
			h.latest("k", nil, 0)
			h.none("k", vSegment+30)
			h.none("k", vSegment+15)
			h.asOf("k", vSegment+6, sp("vp5"), vSegment+5, vSegment+10)
			h.none("k", vSegment+2)
			h.none("k", vSegment)
			h.none("k", vSegment-1)
			h.asOf("k", vSegment-5, sp("vn5"), vSegment-5, vSegment-1)
			h.asOf("k", vSegment-6, sp("vn6"), vSegment-6, vSegment-5)
			h.none("k", vSegment-8)
		}},
		{"shouldRestoreMultipleBatches", []rec{
			{"k", nil, vSegment - 20}, {"k", sp("vn10"), vSegment - 10}, {"k", nil, vSegment - 1},
			{"k", nil, vSegment + 1}, {"k", sp("vp10"), vSegment + 10}, {"k", nil, vSegment + 20},
		}, 3, func(h *vh) {
			h.latest("k", nil, 0)
			h.none("k", vSegment+30)
			h.asOf("k", vSegment+15, sp("vp10"), vSegment+10, vSegment+20)
			h.none("k", vSegment+5)
			h.none("k", vSegment+2)
			h.none("k", vSegment)
			h.none("k", vSegment-1)
			h.asOf("k", vSegment-5, sp("vn10"), vSegment-10, vSegment-1)
			h.none("k", vSegment-15)
		}},
		{"shouldRestoreEvenIfRecordWouldBeExpiredByEndOfBatch", []rec{
			{"k2", sp("v2"), 0}, {"k", sp("v"), vRetention + 10},
		}, 0, func(h *vh) {
			h.latest("k2", sp("v2"), 0)
			h.latest("k", sp("v"), vRetention+10)
		}},
	} {
		for _, kind := range kvKinds {
			t.Run(kind.name+"/RocksDBVersionedStoreTest."+tc.name, func(t *testing.T) {
				src := newVersioned(t, vRetention*time.Millisecond, kind.opts...)
				for _, r := range tc.recs {
					if _, err := src.s.PutVersion(r.k, r.v, at(r.ts)); err != nil {
						t.Fatal(err)
					}
				}
				recs := changelogRecords(src.d, "app-s-changelog")
				if len(recs) != len(tc.recs) {
					t.Fatalf("%d changelog records for %d versions", len(recs), len(tc.recs))
				}
				for i, r := range tc.recs {
					if got := recs[i]; string(got.Key) != r.k || got.Timestamp.UnixMilli() != r.ts || (got.Value == nil) != (r.v == nil) {
						t.Fatalf("changelog record %d: %q=%q@%d, want %s=%s@%d", i, got.Key, got.Value, got.Timestamp.UnixMilli(), r.k, deref(r.v), r.ts)
					}
				}
				h := newVersioned(t, vRetention*time.Millisecond, kind.opts...)
				batches := [][]*kgo.Record{recs}
				if tc.split > 0 {
					batches = [][]*kgo.Record{recs[:tc.split], recs[tc.split:]}
				}
				for _, b := range batches {
					must(t, h.s.(restorer).Restore(b))
				}
				tc.check(h)
			})
		}
	}
	// shouldNotRestoreExpired: a changelog record older than the history
	// retention allows is not restored.
	h := newVersioned(t, vRetention*time.Millisecond)
	must(t, h.s.(restorer).Restore([]*kgo.Record{
		{Topic: "app-s-changelog", Key: []byte("k"), Value: []byte("v"), Timestamp: at(vRetention + 10)},
		{Topic: "app-s-changelog", Key: []byte("k1"), Value: []byte("v1"), Timestamp: at(10)},
		{Topic: "app-s-changelog", Key: []byte("k2"), Value: []byte("v2"), Timestamp: at(9)},
	}))
	h.latest("k", sp("v"), vRetention+10)
	h.latest("k1", sp("v1"), 10)
	h.latest("k2", nil, 0)
}

// TestVersionedStoreLatestView checks the store as a key-value store of its
// latest versions: ranges, prefix scans and counts see the latest versions
// only, and Put and Delete write versions.
func TestVersionedStoreLatestView(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newVersioned(t, time.Hour, kind.opts...)
			for i, k := range []string{"a", "a\x00", "ab", "b", "c"} {
				h.put(k, sp(fmt.Sprint("old", i)), 5, putLatest)
				must(t, h.s.Put(k, state.Timestamped[*string]{Value: sp(fmt.Sprint("v", i)), Timestamp: at(10)}))
			}
			h.put("c", nil, 20, putLatest)
			h.put("b", sp("older"), 7, 10)
			show := func(it state.Iterator[string, state.Timestamped[*string]], err error) string {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				var ierr error
				for k, v := range state.All(it, &ierr) {
					out = append(out, fmt.Sprintf("%q=%s@%d", k, deref(v.Value), v.Timestamp.UnixMilli()))
				}
				if ierr != nil {
					t.Fatal(ierr)
				}
				return strings.Join(out, " ")
			}
			if got, want := show(h.s.All()), `"a"=v0@10 "a\x00"=v1@10 "ab"=v2@10 "b"=v3@10`; got != want {
				t.Errorf("All: %s, want %s", got, want)
			}
			if got, want := show(h.s.Range("a\x00", "b")), `"a\x00"=v1@10 "ab"=v2@10 "b"=v3@10`; got != want {
				t.Errorf("Range: %s, want %s", got, want)
			}
			if got, want := show(h.s.ReverseRange("a", "ab")), `"ab"=v2@10 "a\x00"=v1@10 "a"=v0@10`; got != want {
				t.Errorf("ReverseRange: %s, want %s", got, want)
			}
			if got, want := show(h.s.PrefixScan("a")), `"a"=v0@10 "a\x00"=v1@10 "ab"=v2@10`; got != want {
				t.Errorf("PrefixScan: %s, want %s", got, want)
			}
			if n, err := h.s.ApproximateNumEntries(); err != nil || n != 4 {
				t.Errorf("ApproximateNumEntries = %d, %v; want 4", n, err)
			}
			h.asOf("b", 8, sp("older"), 7, 10)
			h.asOf("c", 15, sp("v4"), 10, 20)
		})
	}
}
