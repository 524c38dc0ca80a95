package state_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// kvHarness runs a one-task topology whose processor owns a key-value store,
// and hands the test that store.
type kvHarness struct {
	d     *testutil.Driver
	store state.KeyValueStore[string, string]
}

type noop struct{}

func (noop) Init(topology.Context[string, string]) error   { return nil }
func (noop) Process(topology.Record[string, string]) error { return nil }
func (noop) Close() error                                  { return nil }

func newKV(t *testing.T, opts ...state.Option) *kvHarness {
	t.Helper()
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "s", serde.String(), serde.String(), opts...)
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return noop{} }, "src")
	b.ConnectStores("p", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app"})
	ro := testutil.KeyValueStore[string, string](d, "s").Partition(0)
	h := &kvHarness{d: d, store: ro.(state.KeyValueStore[string, string])}
	return h
}

var kvKinds = []struct {
	name string
	opts []state.Option
}{
	{"pebble", nil},
	{"memory", []state.Option{state.InMemory()}},
}

func collectT(t *testing.T) func(state.Iterator[string, string], error) []string {
	return func(it state.Iterator[string, string], err error) []string { return collect(t, it, err) }
}

func collect(t *testing.T, it state.Iterator[string, string], err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		out = append(out, it.Key()+"="+it.Value())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func eq(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestKeyValueConformance(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("get put delete", func(t *testing.T) {
				s := newKV(t, kind.opts...).store
				if _, ok, err := s.Get("a"); ok || err != nil {
					t.Fatalf("empty store: ok=%v err=%v", ok, err)
				}
				must(t, s.Put("a", "1"))
				must(t, s.Put("a", "2"))
				must(t, s.Put("e", ""))
				if v, ok, _ := s.Get("a"); !ok || v != "2" {
					t.Fatalf("Get(a) = %q, %v", v, ok)
				}
				if v, ok, _ := s.Get("e"); !ok || v != "" {
					t.Fatalf("an empty value is a value: Get(e) = %q, %v", v, ok)
				}
				must(t, s.Delete("a"))
				must(t, s.Delete("never"))
				if _, ok, _ := s.Get("a"); ok {
					t.Fatal("deleted key still present")
				}
			})
			t.Run("put if absent and put all", func(t *testing.T) {
				s := newKV(t, kind.opts...).store
				if old, ok, err := s.PutIfAbsent("k", "v1"); ok || err != nil || old != "" {
					t.Fatalf("first PutIfAbsent = %q, %v, %v", old, ok, err)
				}
				if old, ok, _ := s.PutIfAbsent("k", "v2"); !ok || old != "v1" {
					t.Fatalf("second PutIfAbsent = %q, %v", old, ok)
				}
				must(t, s.PutAll([]state.KeyValue[string, string]{{Key: "x", Value: "1"}, {Key: "y", Value: "2"}, {Key: "x", Value: "3"}}))
				eq(t, collectT(t)(s.All()), []string{"k=v1", "x=3", "y=2"})
				if n, err := s.ApproximateNumEntries(); err != nil || n < 1 {
					t.Fatalf("ApproximateNumEntries = %d, %v", n, err)
				}
			})
			t.Run("ranges are inclusive and ordered by bytes", func(t *testing.T) {
				s := newKV(t, kind.opts...).store
				for _, k := range []string{"b", "a", "ab", "c", "a\x00", "\xff", "bb"} {
					must(t, s.Put(k, "v"))
				}
				keys := func(it state.Iterator[string, string], err error) []string {
					var out []string
					for _, kv := range collectT(t)(it, err) {
						out = append(out, kv[:len(kv)-2])
					}
					return out
				}
				eq(t, keys(s.All()), []string{"a", "a\x00", "ab", "b", "bb", "c", "\xff"})
				eq(t, keys(s.ReverseAll()), []string{"\xff", "c", "bb", "b", "ab", "a\x00", "a"})
				eq(t, keys(s.Range("ab", "bb")), []string{"ab", "b", "bb"})
				eq(t, keys(s.ReverseRange("ab", "bb")), []string{"bb", "b", "ab"})
				eq(t, keys(s.Range("a", "a")), []string{"a"})
				eq(t, keys(s.Range("d", "e")), nil)
				eq(t, keys(s.PrefixScan("a")), []string{"a", "a\x00", "ab"})
				eq(t, keys(s.PrefixScan("\xff")), []string{"\xff"})
			})
			t.Run("iterator after close", func(t *testing.T) {
				s := newKV(t, kind.opts...).store
				must(t, s.Put("a", "1"))
				it, _ := s.All()
				must(t, it.Close())
				if it.Next() {
					t.Fatal("Next after Close returned true")
				}
				if !errors.Is(it.Err(), state.ErrIteratorClosed) {
					t.Fatalf("Err after Close = %v, want ErrIteratorClosed", it.Err())
				}
			})
			t.Run("All adapter closes", func(t *testing.T) {
				s := newKV(t, kind.opts...).store
				must(t, s.Put("a", "1"))
				must(t, s.Put("b", "2"))
				it, _ := s.All()
				var err error
				for k := range state.All(it, &err) {
					if k == "a" {
						break
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				if it.Next() {
					t.Fatal("iterator still open after the loop")
				}
			})
		})
	}
}

func TestKeyValueChangelog(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newKV(t, kind.opts...)
			log := testutil.NewOutputTopic(h.d, "app-s-changelog", serde.String(), serde.String())
			must(t, h.store.Put("a", "1"))
			must(t, h.store.Put("b", "2"))
			must(t, h.store.Delete("a"))
			recs := log.ReadAll()
			if len(recs) != 3 {
				t.Fatalf("changelog has %d records, want 3", len(recs))
			}
			if recs[0].Key != "a" || recs[0].Value != "1" || recs[1].Key != "b" || recs[1].Value != "2" {
				t.Fatalf("changelog = %+v", recs)
			}
			if recs[2].Key != "a" || !recs[2].NullValue {
				t.Fatalf("delete must log a tombstone, got %+v", recs[2])
			}
		})
	}
}

func TestKeyValueUnlogged(t *testing.T) {
	h := newKV(t, state.Logging(false))
	must(t, h.store.Put("a", "1"))
	if got := h.d.ProducedTopics(); len(got) != 0 {
		t.Fatalf("an unlogged store wrote %q", got)
	}
}

func TestLookupErrors(t *testing.T) {
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "s", serde.String(), serde.Int64())
	state.AddKeyValueStore(b, "other", serde.String(), serde.Int64())
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	var lookupErrs []error
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] {
		return &initProbe{probe: func(ctx topology.Context[string, string]) {
			_, err := state.LookupKeyValue[string, int64](ctx, "other")
			lookupErrs = append(lookupErrs, err)
			_, err = state.LookupKeyValue[string, string](ctx, "s")
			lookupErrs = append(lookupErrs, err)
			_, err = state.LookupKeyValue[string, int64](ctx, "s")
			lookupErrs = append(lookupErrs, err)
		}}
	}, "src")
	b.ConnectStores("p", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	testutil.NewDriver(t, top, testutil.Config{})
	if len(lookupErrs) != 3 {
		t.Fatalf("probe ran %d lookups", len(lookupErrs))
	}
	for i, want := range []string{`processor "p" is not connected to store "other"`, `store "s" is a key-value store of key string and value int64, not a key-value store of key string and value string`, ""} {
		got := fmt.Sprint(lookupErrs[i])
		if want == "" && lookupErrs[i] != nil || want != "" && !strings.Contains(got, want) {
			t.Errorf("lookup %d: error %q, want %q", i, got, want)
		}
	}
}

func TestUnknownStoreFailsBuild(t *testing.T) {
	b := topology.NewBuilder()
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return noop{} }, "src")
	b.ConnectStores("p", "missing")
	_, err := b.Build()
	if !errors.Is(err, topology.ErrInvalidTopology) || !strings.Contains(err.Error(), `processor "p" uses unknown store "missing"`) {
		t.Fatalf("Build error = %v", err)
	}
}

type initProbe struct {
	noop
	probe func(topology.Context[string, string])
}

func (p *initProbe) Init(ctx topology.Context[string, string]) error { p.probe(ctx); return nil }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSourceChangelogBuildErrors(t *testing.T) {
	build := func(add func(b *topology.Builder)) error {
		b := topology.NewBuilder()
		add(b)
		topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
		topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return noop{} }, "src")
		b.ConnectStores("p", "s")
		_, err := b.Build()
		return err
	}
	cases := map[string]struct {
		add  func(b *topology.Builder)
		want string
	}{
		"empty topic": {func(b *topology.Builder) {
			state.AddKeyValueStore(b, "s", serde.String(), serde.String(), state.SourceChangelog(""))
		}, `store "s": SourceChangelog with an empty topic`},
		"topic not read": {func(b *topology.Builder) {
			state.AddKeyValueStore(b, "s", serde.String(), serde.String(), state.SourceChangelog("elsewhere"))
		}, `store "s" restores from topic "elsewhere", which its sub-topology 0 does not read`},
		"window store": {func(b *topology.Builder) {
			state.AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, time.Minute, state.SourceChangelog("in"))
		}, `store "s": SourceChangelog applies to key-value stores only, not window stores`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := build(c.add); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build = %v, want an error containing %q", err, c.want)
			}
		})
	}
	if err := build(func(b *topology.Builder) {
		state.AddKeyValueStore(b, "s", serde.String(), serde.String(), state.SourceChangelog("in"))
	}); err != nil {
		t.Fatalf("a store restoring from its sub-topology's source: %v", err)
	}
}
