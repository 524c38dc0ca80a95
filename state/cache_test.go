package state_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// storeProc is a processor that uses key-value stores of strings through
// functions the test gives it.
type storeProc struct {
	ctx    topology.Context[string, string]
	names  []string
	stores map[string]state.KeyValueStore[string, string]
	init   func(p *storeProc) error
	fn     func(p *storeProc, r topology.Record[string, string]) error
}

func (p *storeProc) Init(ctx topology.Context[string, string]) error {
	p.ctx = ctx
	p.stores = map[string]state.KeyValueStore[string, string]{}
	for _, n := range p.names {
		s, err := state.LookupKeyValue[string, string](ctx, n)
		if err != nil {
			return err
		}
		p.stores[n] = s
	}
	if p.init != nil {
		return p.init(p)
	}
	return nil
}

func (p *storeProc) Process(r topology.Record[string, string]) error {
	if p.fn == nil {
		return nil
	}
	return p.fn(p, r)
}

func (p *storeProc) Close() error { return nil }

// cachedHarness is a one-task topology whose processor runs fn with the
// stores named in names, all declared with opts, under a record cache of
// budget bytes.
type cachedHarness struct {
	d   *testutil.Driver
	in  *testutil.InputTopic[string, string]
	log map[string]*testutil.OutputTopic[string, string]
}

func newCached(t *testing.T, budget int64, names []string, opts []state.Option,
	init func(p *storeProc) error, fn func(p *storeProc, r topology.Record[string, string]) error) *cachedHarness {
	t.Helper()
	b := topology.NewBuilder()
	for _, n := range names {
		state.AddKeyValueStore(b, n, serde.String(), serde.String(), opts...)
	}
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] {
		return &storeProc{names: names, init: init, fn: fn}
	}, "src")
	b.ConnectStores("p", names...)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", CacheMaxBytes: budget})
	h := &cachedHarness{d: d, in: testutil.NewInputTopic(d, "in", serde.String(), serde.String()), log: map[string]*testutil.OutputTopic[string, string]{}}
	for _, n := range names {
		h.log[n] = testutil.NewOutputTopic(d, "app-"+n+"-changelog", serde.String(), serde.String())
	}
	return h
}

// changes renders changelog records as "key=value@ms", "key=<nil>@ms".
func changes(recs []testutil.Record[string, string]) []string {
	var out []string
	for _, r := range recs {
		v := r.Value
		if r.NullValue {
			v = "<nil>"
		}
		out = append(out, fmt.Sprintf("%s=%s@%d", r.Key, v, r.Timestamp.UnixMilli()))
	}
	return out
}

const tenMiB = 10 << 20

func TestCachingCollapsesUpdatesWithinACommit(t *testing.T) {
	// The processor writes its key 100 times per record; the driver
	// commits after each record.
	put100 := func(p *storeProc, r topology.Record[string, string]) error {
		for i := 1; i <= 100; i++ {
			if err := p.stores["s"].Put(r.Key, r.Value+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, kind := range kvKinds {
		for _, tc := range []struct {
			name    string
			budget  int64
			caching bool
			want    int
		}{
			{"cached", tenMiB, true, 1},
			{"no cache configured", 0, true, 100},
			{"caching off", tenMiB, false, 100},
		} {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				opts := append([]state.Option{state.Caching(tc.caching)}, kind.opts...)
				h := newCached(t, tc.budget, []string{"s"}, opts, nil, put100)
				h.in.PipeAt("a", "x", time.UnixMilli(1000))
				h.in.PipeAt("b", "y", time.UnixMilli(2000))
				h.in.PipeAt("a", "z", time.UnixMilli(3000))
				recs := h.log["s"].ReadAll()
				if len(recs) != 3*tc.want {
					t.Fatalf("changelog has %d records, want %d per key per commit", len(recs), tc.want)
				}
				if tc.want == 1 {
					if got, want := fmt.Sprint(changes(recs)), "[a=x100@1000 b=y100@2000 a=z100@3000]"; got != want {
						t.Fatalf("changelog %s, want %s", got, want)
					}
				}
				kv := testutil.KeyValueStore[string, string](h.d, "s")
				if got := fmt.Sprint(kv.All()); got != "[{a z100} {b y100}]" {
					t.Fatalf("store holds %s", got)
				}
			})
		}
	}
}

func TestCachingReadsSeeCachedWrites(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			var trace []string
			note := func(format string, args ...any) { trace = append(trace, fmt.Sprintf(format, args...)) }
			fn := func(p *storeProc, r topology.Record[string, string]) error {
				s := p.stores["s"]
				get := func(k string) {
					v, ok, err := s.Get(k)
					if err != nil {
						note("get %s: %v", k, err)
						return
					}
					if !ok {
						note("%s absent", k)
						return
					}
					note("%s=%s", k, v)
				}
				must(t, s.Put("a", "1"))
				get("a")
				must(t, s.Delete("a"))
				get("a")
				must(t, s.Put("b", "2"))
				must(t, s.Put("c", "3"))
				must(t, s.Put("a", "4"))
				must(t, s.Delete("a"))
				old, ok, err := s.PutIfAbsent("a", "5")
				note("PutIfAbsent(a) = %q %v %v", old, ok, err)
				old, ok, err = s.PutIfAbsent("b", "6")
				note("PutIfAbsent(b) = %q %v %v", old, ok, err)
				note("range %v", collectT(t)(s.Range("a", "b")))
				note("reverse %v", collectT(t)(s.ReverseAll()))
				must(t, s.Put("d", "7")) // cached after the range's flush
				note("prefix %v", collectT(t)(s.PrefixScan("d")))
				return nil
			}
			h := newCached(t, tenMiB, []string{"s"}, append([]state.Option{state.Caching(true)}, kind.opts...), nil, fn)
			h.in.PipeAt("k", "v", time.UnixMilli(7))
			want := []string{
				"a=1", "a absent",
				`PutIfAbsent(a) = "" false <nil>`, `PutIfAbsent(b) = "2" true <nil>`,
				"range [a=5 b=2]", "reverse [c=3 b=2 a=5]", "prefix [d=7]",
			}
			eq(t, trace, want)
			// The first range flushed b, c and a, in order of last write; the
			// prefix scan flushed d.
			eq(t, changes(h.log["s"].ReadAll()), []string{"b=2@7", "c=3@7", "a=5@7", "d=7@7"})
		})
	}
}

func TestCachingOutsideProcessing(t *testing.T) {
	// A test (or a punctuation) that writes between records: the writes
	// are cached until the next commit, and reads see them.
	h := newCached(t, tenMiB, []string{"s"}, []state.Option{state.Caching(true)}, nil, nil)
	s := testutil.KeyValueStore[string, string](h.d, "s").Partition(0).(state.KeyValueStore[string, string])
	must(t, s.Put("a", "1"))
	must(t, s.Put("a", "2"))
	if v, ok, err := s.Get("a"); v != "2" || !ok || err != nil {
		t.Fatalf("Get(a) = %q, %v, %v", v, ok, err)
	}
	if n := h.log["s"].Len(); n != 0 {
		t.Fatalf("%d changelog records before any commit", n)
	}
	h.in.Pipe("x", "y") // the driver commits after it
	eq(t, changes(h.log["s"].ReadAll()), []string{"a=2@0"})
	must(t, s.Delete("a"))
	if _, ok, _ := s.Get("a"); ok {
		t.Fatal("Get after Delete found the key")
	}
	eq(t, collectT(t)(s.All()), nil)
	eq(t, changes(h.log["s"].ReadAll()), []string{"a=<nil>@0"})
}

func TestCachingEvictionWritesThrough(t *testing.T) {
	// 1000 keys written twice within one input record, under a budget
	// of a few entries: evictions write them through as processing goes,
	// and reads of evicted keys come from the store.
	const n = 1000
	key := func(i int) string { return fmt.Sprintf("k%04d", i) }
	var bad []string
	fn := func(p *storeProc, r topology.Record[string, string]) error {
		s := p.stores["s"]
		for round := 1; round <= 2; round++ {
			for i := 0; i < n; i++ {
				if err := s.Put(key(i), fmt.Sprint(round*n+i)); err != nil {
					return err
				}
			}
			for i := 0; i < n; i += 97 {
				if v, ok, err := s.Get(key(i)); err != nil || !ok || v != fmt.Sprint(round*n+i) {
					bad = append(bad, fmt.Sprintf("round %d: Get(%s) = %q, %v, %v", round, key(i), v, ok, err))
				}
			}
		}
		return s.Delete(key(0))
	}
	for _, tc := range []struct {
		name   string
		budget int64
		check  func(t *testing.T, logged int)
	}{
		{"tiny budget", 2 << 10, func(t *testing.T, logged int) {
			if logged < 2*n {
				t.Fatalf("changelog has %d records; eviction must write both rounds through (%d)", logged, 2*n)
			}
		}},
		{"ample budget", tenMiB, func(t *testing.T, logged int) {
			if logged != n {
				t.Fatalf("changelog has %d records, want one per key: %d", logged, n)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad = nil
			h := newCached(t, tc.budget, []string{"s"}, []state.Option{state.Caching(true)}, nil, fn)
			h.in.Pipe("go", "")
			if len(bad) > 0 {
				t.Fatalf("reads within the record: %s", strings.Join(bad, "; "))
			}
			tc.check(t, h.log["s"].Drain())
			all := testutil.KeyValueStore[string, string](h.d, "s").All()
			if len(all) != n-1 {
				t.Fatalf("store holds %d keys, want %d", len(all), n-1)
			}
			for i, e := range all {
				if e.Key != key(i+1) || e.Value != fmt.Sprint(2*n+i+1) {
					t.Fatalf("entry %d = %v, want %s=%d", i, e, key(i+1), 2*n+i+1)
				}
			}
		})
	}
}

func TestCachingFlushListener(t *testing.T) {
	for _, sendOld := range []bool{true, false} {
		t.Run(fmt.Sprintf("sendOldValues=%v", sendOld), func(t *testing.T) {
			var got []string
			var cachingOn bool
			init := func(p *storeProc) error {
				cs, ok := p.stores["s"].(state.CachedKeyValueStore[string, string])
				if !ok {
					return fmt.Errorf("store is %T, not a CachedKeyValueStore", p.stores["s"])
				}
				cachingOn = cs.SetFlushListener(func(c state.Change[string, string]) error {
					nv, ov := "<nil>", "<nil>"
					if c.HasNew {
						nv = c.NewValue
					}
					if c.HasOld {
						ov = c.OldValue
					}
					got = append(got, fmt.Sprintf("%s: %s -> %s @%d", c.Key, ov, nv, c.Timestamp.UnixMilli()))
					return nil
				}, sendOld)
				return nil
			}
			fn := func(p *storeProc, r topology.Record[string, string]) error {
				s := p.stores["s"]
				for _, op := range strings.Split(r.Value, ",") {
					k, v, isPut := strings.Cut(op, "=")
					var err error
					if isPut {
						err = s.Put(k, v)
					} else {
						err = s.Delete(k)
					}
					if err != nil {
						return err
					}
				}
				return nil
			}
			h := newCached(t, tenMiB, []string{"s"}, []state.Option{state.Caching(true)}, init, fn)
			if !cachingOn {
				t.Fatal("SetFlushListener reported no caching")
			}
			old := func(v string) string {
				if sendOld {
					return v
				}
				return "<nil>"
			}
			h.in.PipeAt("", "a=1,a=2,b=x", time.UnixMilli(1000))
			eq(t, got, []string{"a: <nil> -> 2 @1000", "b: <nil> -> x @1000"})
			got = nil
			// Deleting a key the store never held is dropped: no
			// write, no changelog record, no listener call.
			h.in.PipeAt("", "a=3,b,zz,n=1,n", time.UnixMilli(2000))
			eq(t, got, []string{"a: " + old("2") + " -> 3 @2000", "b: " + old("x") + " -> <nil> @2000"})
			eq(t, changes(h.log["s"].ReadAll()), []string{"a=2@1000", "b=x@1000", "a=3@2000", "b=<nil>@2000"})
		})
	}
	t.Run("without a cache", func(t *testing.T) {
		var on, called bool
		init := func(p *storeProc) error {
			on = p.stores["s"].(state.CachedKeyValueStore[string, string]).SetFlushListener(func(state.Change[string, string]) error {
				called = true
				return nil
			}, true)
			return nil
		}
		put := func(p *storeProc, r topology.Record[string, string]) error { return p.stores["s"].Put(r.Key, r.Value) }
		h := newCached(t, 0, []string{"s"}, []state.Option{state.Caching(true)}, init, put)
		h.in.Pipe("a", "1")
		if on || called {
			t.Fatalf("with no cache configured, SetFlushListener = %v and the listener was called: %v", on, called)
		}
	})
	t.Run("listener error fails processing", func(t *testing.T) {
		init := func(p *storeProc) error {
			p.stores["s"].(state.CachedKeyValueStore[string, string]).SetFlushListener(func(state.Change[string, string]) error {
				return fmt.Errorf("downstream broke")
			}, false)
			return nil
		}
		fn := func(p *storeProc, r topology.Record[string, string]) error {
			if err := p.stores["s"].Put(r.Key, r.Value); err != nil {
				return err
			}
			_, err := p.stores["s"].All() // flushes
			return err
		}
		h := newCached(t, tenMiB, []string{"s"}, []state.Option{state.Caching(true)}, init, fn)
		err := h.in.TryPipe("a", "1")
		if err == nil || !strings.Contains(err.Error(), "downstream broke") || !strings.Contains(err.Error(), `store "s"`) {
			t.Fatalf("TryPipe = %v, want the listener's error naming the store", err)
		}
	})
}

func TestCachingCommitFlushesWhatFlushesWrite(t *testing.T) {
	// Stores flush in name order. "b-up"'s listener writes "a-down",
	// which was flushed first: the commit must flush it again, so that
	// nothing stays cached past the commit.
	init := func(p *storeProc) error {
		down := p.stores["a-down"]
		p.stores["b-up"].(state.CachedKeyValueStore[string, string]).SetFlushListener(func(c state.Change[string, string]) error {
			return down.Put(c.Key, "seen "+c.NewValue)
		}, false)
		return nil
	}
	put := func(p *storeProc, r topology.Record[string, string]) error {
		return p.stores["b-up"].Put(r.Key, r.Value)
	}
	h := newCached(t, tenMiB, []string{"a-down", "b-up"}, []state.Option{state.Caching(true)}, init, put)
	h.in.PipeAt("k", "v", time.UnixMilli(5))
	eq(t, changes(h.log["b-up"].ReadAll()), []string{"k=v@5"})
	eq(t, changes(h.log["a-down"].ReadAll()), []string{"k=seen v@5"})
}

func TestCachingConformance(t *testing.T) {
	// The key-value conformance checks, on a cached store used between
	// records: the driver has a cache and nothing commits meanwhile.
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newCached(t, tenMiB, []string{"s"}, append([]state.Option{state.Caching(true)}, kind.opts...), nil, nil)
			s := testutil.KeyValueStore[string, string](h.d, "s").Partition(0).(state.KeyValueStore[string, string])
			if _, ok, err := s.Get("a"); ok || err != nil {
				t.Fatalf("empty store: ok=%v err=%v", ok, err)
			}
			must(t, s.Put("a", "1"))
			must(t, s.Put("e", ""))
			if v, ok, _ := s.Get("e"); !ok || v != "" {
				t.Fatalf("an empty value is a value: Get(e) = %q, %v", v, ok)
			}
			must(t, s.PutAll([]state.KeyValue[string, string]{{Key: "x", Value: "1"}, {Key: "y", Value: "2"}, {Key: "x", Value: "3"}}))
			for _, k := range []string{"b", "ab", "c", "a\x00", "\xff", "bb"} {
				must(t, s.Put(k, "v"))
			}
			must(t, s.Delete("c"))
			eq(t, collectT(t)(s.All()), []string{"a=1", "a\x00=v", "ab=v", "b=v", "bb=v", "e=", "x=3", "y=2", "\xff=v"})
			must(t, s.Put("aa", "w"))
			eq(t, collectT(t)(s.Range("a", "ab")), []string{"a=1", "a\x00=v", "aa=w", "ab=v"})
			must(t, s.Delete("ab"))
			eq(t, collectT(t)(s.ReverseRange("a", "b")), []string{"b=v", "aa=w", "a\x00=v", "a=1"})
			eq(t, collectT(t)(s.PrefixScan("\xff")), []string{"\xff=v"})
			if n, err := s.ApproximateNumEntries(); err != nil || n != 9 {
				t.Fatalf("ApproximateNumEntries = %d, %v; want 9 after the flushes", n, err)
			}
		})
	}
}
