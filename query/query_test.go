package query_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// wordCounts builds "in" → split into words → group by word → count into
// the store "counts", over three partitions, and pipes text through it.
func wordCounts(t *testing.T, text string) *testutil.Driver {
	t.Helper()
	b := topology.NewBuilder()
	lines := kstream.From(b, "in", serde.String(), serde.String())
	words := kstream.FlatMapValues(lines, func(_ string, line string) []string { return strings.Fields(line) })
	ktable.GroupBy(words, func(_ string, w string) string { return w }).Count(ktable.Named("counts"))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"in": 3}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	for i, line := range strings.Split(text, "\n") {
		in.PipeAt(fmt.Sprint(i), line, time.UnixMilli(int64(1000*(i+1))))
	}
	return d
}

const text = `the quick brown fox jumps over the lazy dog
a b c d e f g h i j k l m n o p q r s t u v w x y z
the end and the beginning and the end again
bb ba bc b b b`

// collect drains an iterator into "key=value" strings, failing t on an
// error: collect(s.All(ctx))(t).
func collect[K, V any](it state.Iterator[K, V], err error) func(t *testing.T) []string {
	return func(t *testing.T) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for k, v := range state.All(it, &err) {
			out = append(out, fmt.Sprintf("%v=%v", k, v))
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// TestKeyValueQueriesOnDriver reads a word count through the typed query
// API, in several page sizes, and checks every query against the driver's
// own view of the store.
func TestKeyValueQueriesOnDriver(t *testing.T) {
	d := wordCounts(t, text)
	view := testutil.KeyValueStore[string, int64](d, "counts")
	var want []string
	for _, kv := range view.All() {
		want = append(want, fmt.Sprintf("%s=%d", kv.Key, kv.Value))
	}
	ctx := context.Background()
	for _, page := range []int{1, 2, 7, 1000} {
		t.Run(fmt.Sprintf("page %d", page), func(t *testing.T) {
			s, err := query.KeyValue[string, int64](d, "counts", query.PageSize(page))
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range view.All() {
				got, ok, err := s.Get(ctx, kv.Key)
				if err != nil || !ok || got != kv.Value {
					t.Errorf("Get(%q) = %d, %v, %v; want %d", kv.Key, got, ok, err, kv.Value)
				}
			}
			if _, ok, err := s.Get(ctx, "absent"); ok || err != nil {
				t.Errorf("Get(absent) = %v, %v", ok, err)
			}
			if got := collect(s.All(ctx))(t); !slices.Equal(got, want) {
				t.Errorf("All:\n got %v\nwant %v", got, want)
			}
			rev := slices.Clone(want)
			slices.Reverse(rev)
			if got := collect(s.ReverseAll(ctx))(t); !slices.Equal(got, rev) {
				t.Errorf("ReverseAll:\n got %v\nwant %v", got, rev)
			}
			var inRange []string
			for _, w := range want {
				if k := w[:strings.IndexByte(w, '=')]; k >= "b" && k <= "d" {
					inRange = append(inRange, w)
				}
			}
			if got := collect(s.Range(ctx, "b", "d"))(t); !slices.Equal(got, inRange) {
				t.Errorf("Range(b, d):\n got %v\nwant %v", got, inRange)
			}
			slices.Reverse(inRange)
			if got := collect(s.ReverseRange(ctx, "b", "d"))(t); !slices.Equal(got, inRange) {
				t.Errorf("ReverseRange(b, d):\n got %v\nwant %v", got, inRange)
			}
			if got, want := collect(s.PrefixScan(ctx, "b"))(t), []string{"b=4", "ba=1", "bb=1", "bc=1", "beginning=1", "brown=1"}; !slices.Equal(got, want) {
				t.Errorf("PrefixScan(b) = %v, want %v", got, want)
			}
			if got := collect(s.Range(ctx, "d", "b"))(t); len(got) != 0 {
				t.Errorf("Range(d, b) = %v, want nothing", got)
			}
			if n, err := s.ApproximateNumEntries(ctx); err != nil || n != int64(len(want)) {
				t.Errorf("ApproximateNumEntries = %d, %v; want %d", n, err, len(want))
			}
		})
	}
}

// TestTimestampsAndMetadataOnDriver reads a DSL store's timestamps, and
// checks that KeyMetadata names the partition whose task holds the key.
func TestTimestampsAndMetadataOnDriver(t *testing.T) {
	d := wordCounts(t, text)
	ctx := context.Background()
	s, err := query.KeyValue[string, state.Timestamped[int64]](d, "counts")
	if err != nil {
		t.Fatal(err)
	}
	// "end" is counted twice in line 3, piped at 3000.
	if v, ok, err := s.Get(ctx, "end"); err != nil || !ok || v.Value != 2 || v.Timestamp.UnixMilli() != 3000 {
		t.Errorf("Get(end) = %+v, %v, %v; want 2 at 3000", v, ok, err)
	}
	view := testutil.KeyValueStore[string, int64](d, "counts")
	parts := map[int32]int{}
	for _, kv := range view.All() {
		md, err := s.KeyMetadata(kv.Key)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := view.Partition(int(md.Partition)).Get(kv.Key); !ok || err != nil {
			t.Errorf("KeyMetadata(%q) names partition %d, which does not hold it", kv.Key, md.Partition)
		}
		if md.Active == nil || !md.Active.Local || len(md.Standbys) != 0 {
			t.Errorf("KeyMetadata(%q) = %+v: want the driver, active", kv.Key, md)
		}
		parts[md.Partition]++
	}
	if len(parts) != 3 {
		t.Errorf("keys in partitions %v, want all three", parts)
	}
	instances, err := query.Instances(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(instances) != 1 || !instances[0].Local || fmt.Sprint(instances[0].Active["counts"]) != "[0 1 2]" {
		t.Errorf("Instances = %+v", instances)
	}
	if got, err := s.LocalPartitions(); err != nil || fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("LocalPartitions = %v, %v", got, err)
	}
}

// TestQueryErrors checks bad input: unknown stores, wrong types or kinds,
// and a closed driver, each a sentinel error and none a panic.
func TestQueryErrors(t *testing.T) {
	d := wordCounts(t, text)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func() error
		want error
		text string
	}{
		{"unknown store", func() error { _, err := query.KeyValue[string, int64](d, "nope"); return err }, query.ErrUnknownStore, `unknown store "nope" (the topology's stores: ["counts"])`},
		{"key type", func() error { _, err := query.KeyValue[int64, int64](d, "counts"); return err }, query.ErrStoreType,
			`store "counts" is a key-value store of key string and value state.Timestamped[int64], not a key-value store of key int64 and value int64`},
		{"value type", func() error { _, err := query.KeyValue[string, string](d, "counts"); return err }, query.ErrStoreType, "not a key-value store of key string and value string"},
		{"window of a key-value store", func() error { _, err := query.Window[string, int64](d, "counts"); return err }, query.ErrStoreType, "not a window store"},
		{"session of a key-value store", func() error { _, err := query.Session[string, int64](d, "counts"); return err }, query.ErrStoreType, "not a session store"},
		{"nil source", func() error { _, err := query.KeyValue[string, int64](nil, "counts"); return err }, nil, "nil source"},
		{"page size", func() error { _, err := query.KeyValue[string, int64](d, "counts", query.PageSize(0)); return err }, nil, "PageSize(0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v containing %q", err, tc.want, tc.text)
			}
			if query.Retriable(err) {
				t.Errorf("%v is retriable", err)
			}
		})
	}
	s, err := query.KeyValue[string, int64](d, "counts")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Get(ctx, "the")
	if !errors.Is(err, query.ErrNotRunning) || !query.Retriable(err) {
		t.Errorf("Get after Close: %v, want ErrNotRunning", err)
	}
	if _, err := s.All(ctx); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("All after Close: %v, want ErrNotRunning", err)
	}
}
