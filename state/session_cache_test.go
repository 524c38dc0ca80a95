package state_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// sessionProc runs fn with the session store "s" for every record, and
// records what the store's flush listener is told.
type sessionProc struct {
	store   state.SessionStore[string, string]
	cached  bool
	flushed []string
	fn      func(p *sessionProc, r topology.Record[string, string]) error
}

func (p *sessionProc) Init(ctx topology.Context[string, string]) error {
	s, err := state.LookupSession[string, string](ctx, "s")
	if err != nil {
		return err
	}
	p.store = s
	p.cached = s.(state.CachedSessionStore[string, string]).SetFlushListener(func(c state.Change[window.Windowed[string], string]) error {
		old, nv := "-", "<nil>"
		if c.HasOld {
			old = c.OldValue
		}
		if c.HasNew {
			nv = c.NewValue
		}
		p.flushed = append(p.flushed, fmt.Sprintf("%s@%d-%d:%s->%s", c.Key.Key, c.Key.Window.Start.UnixMilli(), c.Key.Window.End.UnixMilli(), old, nv))
		return nil
	}, true)
	return nil
}

func (p *sessionProc) Process(r topology.Record[string, string]) error { return p.fn(p, r) }

func (p *sessionProc) Close() error { return nil }

func session(k string, start, end int64) window.Windowed[string] {
	return window.Windowed[string]{Key: k, Window: window.Window{Start: time.UnixMilli(start), End: time.UnixMilli(end)}}
}

func TestCachedSessionStore(t *testing.T) {
	var reads []string
	read := func(it state.Iterator[window.Windowed[string], string], err error) {
		reads = append(reads, fmt.Sprint(collectWindowsOf(t, it, err)))
	}
	p := &sessionProc{}
	p.fn = func(p *sessionProc, r topology.Record[string, string]) error {
		s := p.store
		switch r.Value {
		case "1":
			for _, e := range []struct {
				w window.Windowed[string]
				v string
			}{{session("a", 0, 0), "x"}, {session("a", 5, 5), "y"}, {session("b", 1, 1), "z"}} {
				if err := s.Put(e.w, e.v); err != nil {
					return err
				}
			}
			// One key's finds merge the cache: nothing is flushed.
			read(s.FindSessions("a", time.UnixMilli(0), time.UnixMilli(10)))
			read(s.BackwardFetch("a"))
			if err := s.Remove(session("a", 0, 0)); err != nil {
				return err
			}
			read(s.FindSessions("a", time.UnixMilli(0), time.UnixMilli(10)))
			if v, ok, err := s.FetchSession("a", time.UnixMilli(5), time.UnixMilli(5)); err != nil || !ok || v != "y" {
				return fmt.Errorf("FetchSession: %q, %v, %v", v, ok, err)
			}
			if len(p.flushed) != 0 {
				return fmt.Errorf("flushed before the commit: %v", p.flushed)
			}
			// A key range flushes first.
			read(s.FindSessionsKeyRange("a", "b", time.UnixMilli(0), time.UnixMilli(10)))
			if err := s.Put(session("b", 1, 1), "z2"); err != nil {
				return err
			}
		case "2":
			if err := s.Remove(session("a", 5, 5)); err != nil {
				return err
			}
			read(s.Fetch("a"))
		}
		return nil
	}
	b := topology.NewBuilder()
	state.AddSessionStore(b, "s", serde.String(), serde.String(), time.Hour, state.Caching(true))
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] { return p }, "src")
	b.ConnectStores("p", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app", CacheMaxBytes: tenMiB})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	log := testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.String())

	in.PipeAt("k", "1", time.UnixMilli(10))
	if !p.cached {
		t.Fatal("SetFlushListener reported no caching")
	}
	want := `[["a"@0-0=x "a"@5-5=y] ["a"@5-5=y "a"@0-0=x] ["a"@5-5=y] ["a"@5-5=y "b"@1-1=z]]`
	if got := fmt.Sprint(reads); got != want {
		t.Fatalf("reads\n got %s\nwant %s", got, want)
	}
	// The range's flush wrote a and b, but not the removal of a's
	// session never stored; the commit wrote b again.
	if got, want := fmt.Sprint(p.flushed), "[a@5-5:-->y b@1-1:-->z b@1-1:z->z2]"; got != want {
		t.Fatalf("flush listener told %s, want %s", got, want)
	}
	if n := len(log.ReadAll()); n != 3 {
		t.Fatalf("%d changelog records, want 3", n)
	}
	p.flushed, reads = nil, nil
	in.PipeAt("k", "2", time.UnixMilli(20))
	if got, want := fmt.Sprint(reads), "[[]]"; got != want {
		t.Fatalf("reads %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(p.flushed), "[a@5-5:y-><nil>]"; got != want {
		t.Fatalf("flush listener told %s, want %s", got, want)
	}
	if recs := log.ReadAll(); len(recs) != 1 || !recs[0].NullValue {
		t.Fatalf("changelog %v, want one tombstone", recs)
	}
	if got := fmt.Sprint(testutil.SessionStore[string, string](d, "s").Fetch("b")); got != "[{[b@1/1] z2}]" {
		t.Fatalf("store holds %s", got)
	}
}
