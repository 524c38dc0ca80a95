package state_test

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// windowProc runs fn with the window store "s" for every record, and
// records what the store's flush listener is told.
type windowProc struct {
	store   state.WindowStore[string, string]
	cached  bool
	flushed []string
	fn      func(p *windowProc, r topology.Record[string, string]) error
}

func (p *windowProc) Init(ctx topology.Context[string, string]) error {
	s, err := state.LookupWindow[string, string](ctx, "s")
	if err != nil {
		return err
	}
	p.store = s
	p.cached = s.(state.CachedWindowStore[string, string]).SetFlushListener(func(c state.Change[window.Windowed[string], string]) error {
		old := "-"
		if c.HasOld {
			old = c.OldValue
		}
		nv := "<nil>"
		if c.HasNew {
			nv = c.NewValue
		}
		p.flushed = append(p.flushed, fmt.Sprintf("%s@%d-%d:%s->%s@%d", c.Key.Key, c.Key.Window.Start.UnixMilli(),
			c.Key.Window.End.UnixMilli(), old, nv, c.Timestamp.UnixMilli()))
		return nil
	}, true)
	return nil
}

func (p *windowProc) Process(r topology.Record[string, string]) error { return p.fn(p, r) }

func (p *windowProc) Close() error { return nil }

// cachedWindow runs a one-task topology whose processor runs fn with a
// window store "s" (windows of 10ms kept for 100ms) declared with opts,
// under a record cache of budget bytes.
func cachedWindow(t *testing.T, budget int64, opts []state.Option, fn func(p *windowProc, r topology.Record[string, string]) error) (*windowProc, *testutil.Driver, *testutil.InputTopic[string, string], *testutil.OutputTopic[[]byte, string]) {
	t.Helper()
	b := topology.NewBuilder()
	state.AddWindowStore(b, "s", serde.String(), serde.String(), 10*time.Millisecond, 100*time.Millisecond, opts...)
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	p := &windowProc{fn: fn}
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return p }, "src")
	b.ConnectStores("p", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", CacheMaxBytes: budget})
	return p, d, testutil.NewInputTopic(d, "in", serde.String(), serde.String()), testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.String())
}

// windowLog renders window changelog records as "key@start=value".
func windowLog(recs []testutil.Record[[]byte, string]) []string {
	var out []string
	for _, r := range recs {
		n := len(r.Key) - 12
		v := r.Value
		if r.NullValue {
			v = "<nil>"
		}
		out = append(out, fmt.Sprintf("%s@%d=%s", r.Key[:n], int64(binary.BigEndian.Uint64(r.Key[n:])), v))
	}
	return out
}

// startOf parses a record's value as the start of the window it writes.
func startOf(r topology.Record[string, string]) time.Time {
	ms, _ := strconv.ParseInt(r.Value, 10, 64)
	return time.UnixMilli(ms)
}

func TestCachedWindowStoreCollapsesUpdatesWithinACommit(t *testing.T) {
	// Each record puts its key's window (starting at the record's value)
	// 100 times; Fetch sees each put at once. The driver commits after
	// each record.
	put100 := func(p *windowProc, r topology.Record[string, string]) error {
		for i := 1; i <= 100; i++ {
			v := fmt.Sprintf("%s.%d", r.Key, i)
			if err := p.store.Put(r.Key, v, startOf(r)); err != nil {
				return err
			}
			got, ok, err := p.store.Fetch(r.Key, startOf(r))
			if err != nil || !ok || got != v {
				return fmt.Errorf("fetch after put %q: %q, %v, %v", v, got, ok, err)
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name    string
		budget  int64
		caching bool
		want    int // changelog records per record
	}{
		{"cached", tenMiB, true, 1},
		{"no cache configured", 0, true, 100},
		{"caching off", tenMiB, false, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, d, in, log := cachedWindow(t, tc.budget, []state.Option{state.Caching(tc.caching)}, put100)
			in.PipeAt("a", "0", time.UnixMilli(1))
			in.PipeAt("b", "0", time.UnixMilli(2))
			in.PipeAt("a", "0", time.UnixMilli(3))
			in.PipeAt("a", "10", time.UnixMilli(13))
			recs := log.ReadAll()
			if len(recs) != 4*tc.want {
				t.Fatalf("changelog has %d records, want %d per record", len(recs), tc.want)
			}
			if p.cached != (tc.want == 1) {
				t.Fatalf("SetFlushListener reported caching %v", p.cached)
			}
			if tc.want == 1 {
				if got, want := fmt.Sprint(windowLog(recs)), "[a@0=a.100 b@0=b.100 a@0=a.100 a@10=a.100]"; got != want {
					t.Fatalf("changelog %s, want %s", got, want)
				}
				// One update per window and commit, with the value
				// the previous commit left as old, stamped with the
				// time of the last write.
				want := "[a@0-10:-->a.100@1 b@0-10:-->b.100@2 a@0-10:a.100->a.100@3 a@10-20:-->a.100@13]"
				if got := fmt.Sprint(p.flushed); got != want {
					t.Fatalf("flush listener told %s, want %s", got, want)
				}
			} else if len(p.flushed) != 0 {
				t.Fatalf("an uncached store told its listener %v", p.flushed)
			}
			ws := testutil.WindowStore[string, string](d, "s")
			if got := fmt.Sprint(ws.All()); got != "[{[a@0/10] a.100} {[a@10/20] a.100} {[b@0/10] b.100}]" {
				t.Fatalf("store holds %s", got)
			}
		})
	}
}

func TestCachedWindowStoreRangesSeeCachedWrites(t *testing.T) {
	// Ranges flush the cache first: they see every cached write, and the
	// listener hears of the flushed windows then, once.
	var ranged []string
	p, _, in, log := cachedWindow(t, tenMiB, []state.Option{state.Caching(true)}, func(p *windowProc, r topology.Record[string, string]) error {
		for _, start := range []int64{0, 10, 20} {
			if err := p.store.Put(r.Key, r.Value, time.UnixMilli(start)); err != nil {
				return err
			}
		}
		it, err := p.store.FetchRange(r.Key, time.UnixMilli(0), time.UnixMilli(20))
		ranged = append(ranged, fmt.Sprint(collectTimesOf(t, it, err)))
		it2, err := p.store.FetchAll(time.UnixMilli(10), time.UnixMilli(10))
		ranged = append(ranged, fmt.Sprint(collectWindowsOf(t, it2, err)))
		// Written after the ranges: flushed at the commit.
		return p.store.Put(r.Key, r.Value+"!", time.UnixMilli(20))
	})
	in.PipeAt("a", "x", time.UnixMilli(25))
	if got, want := fmt.Sprint(ranged), `[[0=x 10=x 20=x] ["a"@10-20=x]]`; got != want {
		t.Fatalf("ranges read %s, want %s", got, want)
	}
	want := "[a@0-10:-->x@25 a@10-20:-->x@25 a@20-30:-->x@25 a@20-30:x->x!@25]"
	if got := fmt.Sprint(p.flushed); got != want {
		t.Fatalf("flush listener told %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(windowLog(log.ReadAll())), "[a@0=x a@10=x a@20=x a@20=x!]"; got != want {
		t.Fatalf("changelog %s, want %s", got, want)
	}
}

func TestCachedWindowStoreEvictionWritesThrough(t *testing.T) {
	// A budget smaller than one entry evicts, and so flushes, at every
	// put: every write reaches the store, the changelog and the listener
	// while the record is processed.
	var seen []int
	p, d, in, log := cachedWindow(t, 1, []state.Option{state.Caching(true)}, func(p *windowProc, r topology.Record[string, string]) error {
		for i := 1; i <= 3; i++ {
			if err := p.store.Put(r.Key, strconv.Itoa(i), startOf(r)); err != nil {
				return err
			}
			seen = append(seen, len(p.flushed))
		}
		return nil
	})
	in.PipeAt("a", "0", time.UnixMilli(1))
	if got, want := fmt.Sprint(seen), "[1 2 3]"; got != want {
		t.Fatalf("listener calls after each put: %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(p.flushed), "[a@0-10:-->1@1 a@0-10:1->2@1 a@0-10:2->3@1]"; got != want {
		t.Fatalf("flush listener told %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(windowLog(log.ReadAll())), "[a@0=1 a@0=2 a@0=3]"; got != want {
		t.Fatalf("changelog %s, want %s", got, want)
	}
	if v, ok := testutil.WindowStore[string, string](d, "s").Fetch("a", time.UnixMilli(0)); !ok || v != "3" {
		t.Fatalf("store holds %q, %v", v, ok)
	}
}

func TestCachedWindowStoreExpiredAtFlush(t *testing.T) {
	// A window that expires between its put and the flush is reported to
	// the listener (its update happened) but neither stored nor logged.
	p, d, in, log := cachedWindow(t, tenMiB, []state.Option{state.Caching(true)}, func(p *windowProc, r topology.Record[string, string]) error {
		if err := p.store.Put(r.Key, "old", time.UnixMilli(0)); err != nil {
			return err
		}
		// Retention is 100ms: the window starting at 0 expires.
		if err := p.store.Put(r.Key, "new", time.UnixMilli(500)); err != nil {
			return err
		}
		if _, ok, err := p.store.Fetch(r.Key, time.UnixMilli(0)); err != nil || ok {
			return fmt.Errorf("fetch of an expired window: %v, %v", ok, err)
		}
		return nil
	})
	in.PipeAt("a", "", time.UnixMilli(500))
	if got, want := fmt.Sprint(p.flushed), "[a@0-10:-->old@500 a@500-510:-->new@500]"; got != want {
		t.Fatalf("flush listener told %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(windowLog(log.ReadAll())), "[a@500=new]"; got != want {
		t.Fatalf("changelog %s, want %s", got, want)
	}
	if got := fmt.Sprint(testutil.WindowStore[string, string](d, "s").All()); got != "[{[a@500/510] new}]" {
		t.Fatalf("store holds %s", got)
	}
}

func TestWindowStoreRetainingDuplicatesDoesNotCache(t *testing.T) {
	// As in Kafka Streams, the stores of stream-stream joins never cache.
	p, _, in, log := cachedWindow(t, tenMiB, []state.Option{state.Caching(true), state.RetainDuplicates()}, func(p *windowProc, r topology.Record[string, string]) error {
		return p.store.Put(r.Key, r.Value, time.UnixMilli(0))
	})
	in.PipeAt("a", "x", time.UnixMilli(1))
	in.PipeAt("a", "y", time.UnixMilli(2))
	if p.cached {
		t.Fatal("SetFlushListener reported caching")
	}
	if n := len(log.ReadAll()); n != 2 {
		t.Fatalf("changelog has %d records, want 2", n)
	}
}
