// Package kvtest is the conformance suite every kv.Store engine passes, so
// that the in-memory and Pebble engines are interchangeable under the typed
// state stores.
package kvtest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/internal/kv"
)

// Run runs the conformance suite. open must return a new, empty store; each
// subtest opens its own and closes it (a store still open when a subtest
// ends is closed by a cleanup that fails the test on error, e.g. a leak).
func Run(t *testing.T, open func(t *testing.T) kv.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s kv.Store)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"Overwrite", testOverwrite},
		{"EmptyValue", testEmptyValue},
		{"BinaryOrdering", testBinaryOrdering},
		{"IterBounds", testIterBounds},
		{"ReverseIteration", testReverseIteration},
		{"LongIteration", testLongIteration},
		{"DeleteRange", testDeleteRange},
		{"Batch", testBatch},
		{"BatchAfterCommit", testBatchAfterCommit},
		{"ApproximateCount", testApproximateCount},
		{"IteratorBeforeNext", testIteratorBeforeNext},
		{"IteratorUseAfterClose", testIteratorUseAfterClose},
		{"CloseWithOpenIterators", testCloseWithOpenIterators},
		{"ClosedStore", testClosedStore},
		{"GetReturnsCopy", testGetReturnsCopy},
		{"CallerMayReuseBuffers", testCallerMayReuseBuffers},
		{"WritesDuringIterationInvisible", testWritesDuringIteration},
		{"SnapshotsPerIterator", testSnapshotsPerIterator},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

type pair struct{ k, v string }

func set(t *testing.T, s kv.Store, k, v string) {
	t.Helper()
	if err := s.Set([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Set(%q): %v", k, err)
	}
}

func del(t *testing.T, s kv.Store, k string) {
	t.Helper()
	if err := s.Delete([]byte(k)); err != nil {
		t.Fatalf("Delete(%q): %v", k, err)
	}
}

func deleteRange(t *testing.T, s kv.Store, start, end []byte) {
	t.Helper()
	if err := s.DeleteRange(start, end); err != nil {
		t.Fatalf("DeleteRange(%q, %q): %v", start, end, err)
	}
}

// wantGet checks that k holds v, or is absent when absent is true.
func wantGet(t *testing.T, s kv.Store, k, v string, absent bool) {
	t.Helper()
	got, ok, err := s.Get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	switch {
	case absent && ok:
		t.Fatalf("Get(%q) = %q, want absent", k, got)
	case absent && got != nil:
		t.Fatalf("Get(%q) of absent key returned non-nil %q", k, got)
	case !absent && !ok:
		t.Fatalf("Get(%q) absent, want %q", k, v)
	case !absent && string(got) != v:
		t.Fatalf("Get(%q) = %q, want %q", k, got, v)
	}
}

// collect drains it, copying keys and values, and closes it.
func collect(t *testing.T, it kv.Iterator) []pair {
	t.Helper()
	var out []pair
	for it.Next() {
		out = append(out, pair{string(it.Key()), string(it.Value())})
	}
	if err := it.Close(); err != nil {
		t.Fatalf("iterator Close: %v", err)
	}
	return out
}

func scan(t *testing.T, s kv.Store, lower, upper []byte, reverse bool) []pair {
	t.Helper()
	return collect(t, s.Iter(lower, upper, reverse))
}

func wantPairs(t *testing.T, what string, got, want []pair) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, fmtPairs(got), fmtPairs(want))
	}
}

func fmtPairs(ps []pair) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%q=%q", p.k, p.v)
	}
	b.WriteByte(']')
	return b.String()
}

func reversed(ps []pair) []pair {
	out := slices.Clone(ps)
	slices.Reverse(out)
	return out
}

func testGetSetDelete(t *testing.T, s kv.Store) {
	wantGet(t, s, "k", "", true)
	set(t, s, "k", "v")
	wantGet(t, s, "k", "v", false)
	del(t, s, "k")
	wantGet(t, s, "k", "", true)
	del(t, s, "k") // absent: not an error
	del(t, s, "never")
	wantPairs(t, "scan after delete", scan(t, s, nil, nil, false), nil)
}

func testOverwrite(t *testing.T, s kv.Store) {
	set(t, s, "k", "first-longer-value")
	set(t, s, "k", "2nd")
	wantGet(t, s, "k", "2nd", false)
	wantPairs(t, "scan", scan(t, s, nil, nil, false), []pair{{"k", "2nd"}})
	if n, err := s.ApproximateCount(); err != nil || n != 1 {
		t.Fatalf("ApproximateCount after overwrite = %d, %v; want 1", n, err)
	}
}

func testEmptyValue(t *testing.T, s kv.Store) {
	if err := s.Set([]byte("empty"), []byte{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("nil"), nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"empty", "nil"} {
		v, ok, err := s.Get([]byte(k))
		if err != nil || !ok {
			t.Fatalf("Get(%q) = ok %v, err %v; an empty value is present", k, ok, err)
		}
		if v == nil || len(v) != 0 {
			t.Fatalf("Get(%q) = %#v; want a non-nil empty slice", k, v)
		}
	}
	wantGet(t, s, "absent", "", true)
	it := s.Iter(nil, nil, false)
	n := 0
	for it.Next() {
		n++
		if v := it.Value(); v == nil || len(v) != 0 {
			t.Fatalf("iterator Value of %q = %#v; want non-nil empty", it.Key(), v)
		}
	}
	if err := it.Close(); err != nil || n != 2 {
		t.Fatalf("iterated %d keys (err %v); want 2", n, err)
	}
}

// binaryKeys exercises byte order: 0x00 and 0xFF bytes, keys that are
// prefixes of each other, and the empty key.
var binaryKeys = []string{
	"", "\x00", "\x00\x00", "\x00\xff", "\x01", "a", "a\x00", "a\xff", "ab",
	"\x7f", "\x80", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff",
}

// fillBinary stores every binary key with a value naming it, in an order
// unrelated to byte order, and returns the pairs in byte order.
func fillBinary(t *testing.T, s kv.Store) []pair {
	t.Helper()
	var want []pair
	for i := len(binaryKeys) - 1; i >= 0; i-- {
		k := binaryKeys[(i*7)%len(binaryKeys)]
		set(t, s, k, "v"+k)
	}
	for _, k := range binaryKeys {
		want = append(want, pair{k, "v" + k})
	}
	slices.SortFunc(want, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	return want
}

func testBinaryOrdering(t *testing.T, s kv.Store) {
	want := fillBinary(t, s)
	wantPairs(t, "forward", scan(t, s, nil, nil, false), want)
	wantPairs(t, "reverse", scan(t, s, nil, nil, true), reversed(want))
	for _, p := range want {
		wantGet(t, s, p.k, p.v, false)
	}
}

// boundCandidates are iteration and deletion bounds: nil, present keys and
// absent keys between and beyond them.
var boundCandidates = [][]byte{
	nil, {}, {0x00}, {0x00, 0x01}, []byte("a"), []byte("a\x00"), []byte("b"),
	{0xff}, {0xff, 0xff}, {0xff, 0xff, 0xff, 0xff},
}

// inRange reports whether k is in [lower, upper) with nil bounds unbounded.
func inRange(k string, lower, upper []byte) bool {
	if lower != nil && k < string(lower) {
		return false
	}
	return upper == nil || k < string(upper)
}

func testIterBounds(t *testing.T, s kv.Store) {
	all := fillBinary(t, s)
	for _, lo := range boundCandidates {
		for _, hi := range boundCandidates {
			var want []pair
			for _, p := range all {
				if inRange(p.k, lo, hi) {
					want = append(want, p)
				}
			}
			what := fmt.Sprintf("Iter(%q, %q)", lo, hi)
			wantPairs(t, what+" forward", scan(t, s, lo, hi, false), want)
			wantPairs(t, what+" reverse", scan(t, s, lo, hi, true), reversed(want))
		}
	}
}

func testReverseIteration(t *testing.T, s kv.Store) {
	var want []pair
	for i := range 10 {
		k := fmt.Sprintf("k%d", i)
		set(t, s, k, fmt.Sprint(i))
		want = append(want, pair{k, fmt.Sprint(i)})
	}
	wantPairs(t, "reverse", scan(t, s, nil, nil, true), reversed(want))
	wantPairs(t, "reverse [k3,k7)", scan(t, s, []byte("k3"), []byte("k7"), true), reversed(want[3:7]))
	wantPairs(t, "reverse [k3,k7\\x00)", scan(t, s, []byte("k3"), []byte("k7\x00"), true), reversed(want[3:8]))
}

func testLongIteration(t *testing.T, s kv.Store) {
	const n = 1000
	b := s.NewBatch()
	var all []pair
	for i := range n {
		k, v := fmt.Sprintf("key%05d", i), fmt.Sprintf("value%d", i)
		if err := b.Set([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		all = append(all, pair{k, v})
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	wantPairs(t, "forward", scan(t, s, nil, nil, false), all)
	wantPairs(t, "reverse", scan(t, s, nil, nil, true), reversed(all))
	lo, hi := []byte("key00100"), []byte("key00900")
	wantPairs(t, "forward bounded", scan(t, s, lo, hi, false), all[100:900])
	wantPairs(t, "reverse bounded", scan(t, s, lo, hi, true), reversed(all[100:900]))
}

func testDeleteRange(t *testing.T, s kv.Store) {
	all := fillBinary(t, s)
	for _, start := range boundCandidates {
		for _, end := range boundCandidates {
			deleteRange(t, s, nil, nil)
			if got := scan(t, s, nil, nil, false); len(got) != 0 {
				t.Fatalf("DeleteRange(nil, nil) left %s", fmtPairs(got))
			}
			fillBinary(t, s)
			deleteRange(t, s, start, end)
			var want []pair
			for _, p := range all {
				if !inRange(p.k, start, end) || (start != nil && end != nil && string(start) >= string(end)) {
					want = append(want, p)
				}
			}
			wantPairs(t, fmt.Sprintf("after DeleteRange(%q, %q)", start, end), scan(t, s, nil, nil, false), want)
			for _, p := range all {
				wantGet(t, s, p.k, p.v, !slices.Contains(want, p))
			}
		}
	}
}

func testBatch(t *testing.T, s kv.Store) {
	set(t, s, "c", "old-c")
	set(t, s, "f", "old-f")
	b := s.NewBatch()
	if b.Len() != 0 {
		t.Fatalf("new batch Len = %d", b.Len())
	}
	steps := []struct {
		del  bool
		k, v string
	}{
		{false, "a", "1"},
		{false, "b", "2"},
		{true, "c", ""},
		{false, "d", "x"},
		{true, "d", ""}, // set then delete: absent
		{true, "e", ""},
		{false, "e", "5"}, // delete then set: present
		{false, "f", "new-f"},
		{false, "a", "1b"}, // last write wins
	}
	for i, st := range steps {
		var err error
		if st.del {
			err = b.Delete([]byte(st.k))
		} else {
			err = b.Set([]byte(st.k), []byte(st.v))
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != i+1 {
			t.Fatalf("Len after %d writes = %d", i+1, b.Len())
		}
	}
	before := []pair{{"c", "old-c"}, {"f", "old-f"}}
	wantPairs(t, "before Commit", scan(t, s, nil, nil, false), before)
	it := s.Iter(nil, nil, false) // opened before Commit: must not see it
	if err := b.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	wantPairs(t, "iterator opened before Commit", collect(t, it), before)
	wantPairs(t, "after Commit", scan(t, s, nil, nil, false),
		[]pair{{"a", "1b"}, {"b", "2"}, {"e", "5"}, {"f", "new-f"}})
	if err := s.NewBatch().Commit(); err != nil {
		t.Fatalf("empty batch Commit: %v", err)
	}
}

func testBatchAfterCommit(t *testing.T, s kv.Store) {
	b := s.NewBatch()
	if err := b.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("second Commit = %v; want ErrClosed", err)
	}
	if err := b.Set([]byte("k2"), nil); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Set after Commit = %v; want ErrClosed", err)
	}
	if err := b.Delete([]byte("k")); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Delete after Commit = %v; want ErrClosed", err)
	}
	wantPairs(t, "store", scan(t, s, nil, nil, false), []pair{{"k", "v"}})
}

func testApproximateCount(t *testing.T, s kv.Store) {
	count := func() int64 {
		t.Helper()
		n, err := s.ApproximateCount()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("empty store: ApproximateCount = %d", n)
	}
	const n = 1000
	for i := range n {
		set(t, s, fmt.Sprintf("k%04d", i), "v")
	}
	if got := count(); got < n/2 || got > 2*n {
		t.Fatalf("after %d keys: ApproximateCount = %d", n, got)
	}
	for i := range n / 2 {
		del(t, s, fmt.Sprintf("k%04d", i))
	}
	if got := count(); got < n/4 || got > n {
		t.Fatalf("after deleting half: ApproximateCount = %d", got)
	}
	deleteRange(t, s, nil, nil)
	if got := count(); got > n/10 {
		t.Fatalf("after DeleteRange(nil, nil): ApproximateCount = %d", got)
	}
}

func testIteratorBeforeNext(t *testing.T, s kv.Store) {
	set(t, s, "k", "v")
	it := s.Iter(nil, nil, false)
	if it.Key() != nil || it.Value() != nil || it.Err() != nil {
		t.Fatalf("before Next: Key %q Value %q Err %v", it.Key(), it.Value(), it.Err())
	}
	if !it.Next() || string(it.Key()) != "k" || string(it.Value()) != "v" {
		t.Fatal("Next did not reach k=v")
	}
	if it.Next() {
		t.Fatal("Next past the end")
	}
	if it.Next() {
		t.Fatal("Next after exhaustion")
	}
	if it.Key() != nil || it.Value() != nil || it.Err() != nil {
		t.Fatalf("exhausted: Key %q Value %q Err %v", it.Key(), it.Value(), it.Err())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
}

func testIteratorUseAfterClose(t *testing.T, s kv.Store) {
	for _, k := range []string{"a", "b", "c"} {
		set(t, s, k, k)
	}
	for _, reverse := range []bool{false, true} {
		it := s.Iter(nil, nil, reverse)
		if !it.Next() {
			t.Fatal("no first key")
		}
		if err := it.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if it.Next() {
			t.Fatal("Next after Close returned true")
		}
		if !errors.Is(it.Err(), kv.ErrClosed) {
			t.Fatalf("Err after Close = %v; want ErrClosed", it.Err())
		}
		if it.Key() != nil || it.Value() != nil {
			t.Fatalf("after Close: Key %q Value %q; want nil", it.Key(), it.Value())
		}
		if err := it.Close(); err != nil {
			t.Fatalf("second Close = %v; want nil", err)
		}
	}
}

func testCloseWithOpenIterators(t *testing.T, s kv.Store) {
	for _, k := range []string{"a", "b", "c"} {
		set(t, s, k, k)
	}
	done := s.Iter(nil, nil, false)
	collect(t, done) // closed properly: not a leak
	mid := s.Iter(nil, nil, false)
	if !mid.Next() {
		t.Fatal("no first key")
	}
	_ = s.Iter([]byte("b"), nil, true) // never used
	err := s.Close()
	if !errors.Is(err, kv.ErrIteratorLeak) {
		t.Fatalf("Close with open iterators = %v; want ErrIteratorLeak", err)
	}
	if !strings.Contains(err.Error(), "2 iterator") {
		t.Fatalf("leak error %q does not say 2 iterators", err)
	}
	if mid.Next() || mid.Key() != nil || mid.Value() != nil {
		t.Fatal("iterator usable after its store closed")
	}
	if !errors.Is(mid.Err(), kv.ErrClosed) {
		t.Fatalf("Err after store Close = %v; want ErrClosed", mid.Err())
	}
	// The owner learns that iteration was cut short, once.
	if err := mid.Close(); !errors.Is(err, kv.ErrClosed) {
		t.Fatalf("Close of an iterator closed by its store = %v; want ErrClosed", err)
	}
	if err := mid.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second store Close = %v", err)
	}
}

func testClosedStore(t *testing.T, s kv.Store) {
	set(t, s, "k", "v")
	early := s.NewBatch()
	if err := early.Set([]byte("x"), []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, kv.ErrClosed) {
			t.Errorf("%s on closed store = %v; want ErrClosed", op, err)
		}
	}
	_, ok, err := s.Get([]byte("k"))
	check("Get", err)
	if ok {
		t.Error("Get on closed store reported a value")
	}
	check("Set", s.Set([]byte("k"), []byte("v")))
	check("Delete", s.Delete([]byte("k")))
	check("DeleteRange", s.DeleteRange(nil, nil))
	_, err = s.ApproximateCount()
	check("ApproximateCount", err)
	check("Flush", s.Flush())
	check("Commit of a batch made before Close", early.Commit())
	b := s.NewBatch()
	check("batch Set", b.Set([]byte("k"), nil))
	check("batch Commit", b.Commit())
	it := s.Iter(nil, nil, false)
	if it.Next() {
		t.Error("Iter on closed store yielded a key")
	}
	check("iterator Err", it.Err())
	check("iterator Close", it.Close())
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func testGetReturnsCopy(t *testing.T, s kv.Store) {
	set(t, s, "k", "value")
	v, _, err := s.Get([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	_ = append(v[:0], "YYYYYYYYYYYYYYYY"...)
	wantGet(t, s, "k", "value", false)
}

func testCallerMayReuseBuffers(t *testing.T, s kv.Store) {
	k, v := []byte("key1"), []byte("val1")
	if err := s.Set(k, v); err != nil {
		t.Fatal(err)
	}
	k[3], v[3] = '2', '2'
	if err := s.Set(k, v); err != nil {
		t.Fatal(err)
	}
	k[3], v[3] = '9', '9'

	b := s.NewBatch()
	k[3], v[3] = '3', '3'
	if err := b.Set(k, v); err != nil {
		t.Fatal(err)
	}
	k[3] = '1'
	if err := b.Delete(k); err != nil {
		t.Fatal(err)
	}
	k[3], v[3] = '4', '4'
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	want := []pair{{"key2", "val2"}, {"key3", "val3"}}
	wantPairs(t, "store", scan(t, s, nil, nil, false), want)

	// Iteration bounds are copied too.
	lo, hi := []byte("key2"), []byte("key3")
	it := s.Iter(lo, hi, false)
	lo[3], hi[3] = '0', '9'
	wantPairs(t, "Iter after its bounds were reused", collect(t, it), want[:1])
}

// fill100 stores k00..k99 and returns them in order.
func fill100(t *testing.T, s kv.Store) []pair {
	t.Helper()
	var all []pair
	for i := range 100 {
		k, v := fmt.Sprintf("k%02d", i), fmt.Sprintf("v%02d", i)
		set(t, s, k, v)
		all = append(all, pair{k, v})
	}
	return all
}

func testWritesDuringIteration(t *testing.T, s kv.Store) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", reverse), func(t *testing.T) {
			deleteRange(t, s, nil, nil)
			all := fill100(t, s)
			want := all
			if reverse {
				want = reversed(all)
			}
			it := s.Iter(nil, nil, reverse)
			var got []pair
			for range 5 {
				if !it.Next() {
					t.Fatal("short iteration")
				}
				got = append(got, pair{string(it.Key()), string(it.Value())})
			}
			// Every kind of write, ahead of and behind the iterator.
			set(t, s, "k50x", "new")
			set(t, s, "k00x", "new")
			del(t, s, "k60")
			del(t, s, "k03")
			set(t, s, "k70", "changed")
			set(t, s, "k96", "changed")
			b := s.NewBatch()
			_ = b.Set([]byte("k80x"), []byte("batch"))
			_ = b.Delete([]byte("k81"))
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			deleteRange(t, s, []byte("k20"), []byte("k30"))
			got = append(got, collect(t, it)...)
			wantPairs(t, "iteration across writes", got, want)

			// A new iterator sees the writes; then a wipe during
			// iteration is invisible too.
			after := scan(t, s, nil, nil, reverse)
			if len(after) != 100+3-3-10 {
				t.Fatalf("after writes: %d keys, want 90: %s", len(after), fmtPairs(after))
			}
			it = s.Iter(nil, nil, reverse)
			deleteRange(t, s, nil, nil)
			wantPairs(t, "iteration across DeleteRange(nil, nil)", collect(t, it), after)
			wantPairs(t, "after wipe", scan(t, s, nil, nil, false), nil)
		})
	}
}

func testSnapshotsPerIterator(t *testing.T, s kv.Store) {
	all := fill100(t, s)
	it1 := s.Iter(nil, nil, false)
	set(t, s, "k05", "w1")
	it2 := s.Iter(nil, nil, false)
	set(t, s, "k06", "w2")
	it3 := s.Iter(nil, nil, false)
	if !it1.Next() || !it2.Next() || !it3.Next() {
		t.Fatal("empty iteration")
	}
	wantPairs(t, "it1", collect(t, it1)[4:6], all[5:7])
	del(t, s, "k07")
	wantPairs(t, "it2", collect(t, it2)[4:6], []pair{{"k05", "w1"}, {"k06", "v06"}})
	set(t, s, "k08", "w3")
	wantPairs(t, "it3", collect(t, it3)[4:8], []pair{{"k05", "w1"}, {"k06", "w2"}, {"k07", "v07"}, {"k08", "v08"}})
	got := scan(t, s, []byte("k05"), []byte("k09"), false)
	wantPairs(t, "store", got, []pair{{"k05", "w1"}, {"k06", "w2"}, {"k08", "w3"}})
}
