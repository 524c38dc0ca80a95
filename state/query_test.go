package state_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/iq"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// queryPages reads a whole key-value scan of [lo, hi) through QueryPage,
// limit entries at a time, as "key=value" strings.
func queryPages(t *testing.T, s iq.KeyValue[string, string], lo, hi []byte, reverse bool, limit int) []string {
	t.Helper()
	var out []string
	p := iq.Page{Reverse: reverse, Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("QueryPage never reports the end")
		}
		n := 0
		end, err := s.QueryPage(lo, hi, p, func(enc []byte, k, v string) error {
			if string(enc) != k {
				t.Errorf("encoded key %q for key %q", enc, k)
			}
			out = append(out, k+"="+v)
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n > limit {
			t.Fatalf("a page of %d entries, limit %d", n, limit)
		}
		if end.Done {
			return out
		}
		p.After = end.Last
	}
}

// TestQueryReadsMergeCachedWrites checks, while a processor has written to
// a cached store and nothing is flushed, that a query sees what the store
// will hold after the flush, cached writes and deletes included, in every
// page size and both directions, and that it leaves the cache as it was:
// the flush that follows writes every cached entry, with its value.
func TestQueryReadsMergeCachedWrites(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			var checked bool
			fn := func(p *storeProc, r topology.Record[string, string]) error {
				s := p.stores["s"]
				if r.Value == "seed" {
					// Flushed by the driver's commit after this
					// record: the store holds a..f.
					for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
						if err := s.Put(k, "old-"+k); err != nil {
							return err
						}
					}
					return nil
				}
				// Reads: a's value and q's absence are now cached,
				// clean (the cache remembers keys the store does not
				// hold).
				for _, k := range []string{"a", "q"} {
					if _, _, err := s.Get(k); err != nil {
						return err
					}
				}
				// Dirty writes: b and e changed, c deleted, bb and z
				// new, d written then deleted.
				for _, w := range [][2]string{{"b", "new-b"}, {"e", "new-e"}, {"bb", "new-bb"}, {"z", "new-z"}, {"d", "x"}} {
					if err := s.Put(w[0], w[1]); err != nil {
						return err
					}
				}
				for _, k := range []string{"c", "d"} {
					if err := s.Delete(k); err != nil {
						return err
					}
				}
				q := s.(iq.KeyValue[string, string])
				want := "a=old-a b=new-b bb=new-bb e=new-e f=old-f z=new-z"
				for _, limit := range []int{1, 2, 3, 100} {
					if got := strings.Join(queryPages(t, q, nil, nil, false, limit), " "); got != want {
						t.Errorf("limit %d: all %s, want %s", limit, got, want)
					}
					rev := queryPages(t, q, nil, nil, true, limit)
					if got, want := strings.Join(rev, " "), "z=new-z f=old-f e=new-e bb=new-bb b=new-b a=old-a"; got != want {
						t.Errorf("limit %d: reverse %s, want %s", limit, got, want)
					}
					if got := strings.Join(queryPages(t, q, []byte("b"), []byte("e"), false, limit), " "); got != "b=new-b bb=new-bb" {
						t.Errorf("limit %d: [b, e) %s", limit, got)
					}
				}
				for k, want := range map[string]string{"a": "old-a", "b": "new-b", "c": "", "d": "", "z": "new-z", "q": ""} {
					v, ok, err := q.QueryGet(k)
					if err != nil || ok != (want != "") || v != want {
						t.Errorf("QueryGet(%q) = %q, %v, %v; want %q", k, v, ok, err, want)
					}
				}
				checked = true
				return nil
			}
			opts := append([]state.Option{state.Caching(true)}, kind.opts...)
			h := newCached(t, tenMiB, []string{"s"}, opts, nil, fn)
			h.in.PipeAt("k", "seed", time.UnixMilli(1000))
			h.log["s"].ReadAll()
			h.in.PipeAt("k", "write", time.UnixMilli(2000))
			if !checked {
				t.Fatal("the processor did not run the queries")
			}
			// The queries left every dirty entry to the flush.
			if got, want := fmt.Sprint(changes(h.log["s"].ReadAll())), "[b=new-b@2000 e=new-e@2000 bb=new-bb@2000 z=new-z@2000 c=<nil>@2000 d=<nil>@2000]"; got != want {
				t.Errorf("flush after the queries wrote %s, want %s", got, want)
			}
			kv := testutil.KeyValueStore[string, string](h.d, "s")
			if got, want := fmt.Sprint(kv.All()), "[{a old-a} {b new-b} {bb new-bb} {e new-e} {f old-f} {z new-z}]"; got != want {
				t.Errorf("store holds %s, want %s", got, want)
			}
		})
	}
}

// windowedHarness runs fn with a window store and a session store of
// strings.
func windowedHarness(t *testing.T, fn func(w state.WindowStore[string, string], s state.SessionStore[string, string]) error) *testutil.InputTopic[string, string] {
	t.Helper()
	b := topology.NewBuilder()
	state.AddWindowStore(b, "w", serde.String(), serde.String(), 10*time.Millisecond, time.Hour, state.RetainDuplicates())
	state.AddSessionStore(b, "s", serde.String(), serde.String(), time.Hour)
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] {
		return &windowedProc{fn: fn}
	}, "src")
	b.ConnectStores("p", "w", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	return testutil.NewInputTopic(d, "in", serde.String(), serde.String())
}

type windowedProc struct {
	w  state.WindowStore[string, string]
	s  state.SessionStore[string, string]
	fn func(w state.WindowStore[string, string], s state.SessionStore[string, string]) error
}

func (p *windowedProc) Init(ctx topology.Context[string, string]) error {
	var err error
	if p.w, err = state.LookupWindow[string, string](ctx, "w"); err != nil {
		return err
	}
	p.s, err = state.LookupSession[string, string](ctx, "s")
	return err
}

func (p *windowedProc) Process(topology.Record[string, string]) error { return p.fn(p.w, p.s) }
func (p *windowedProc) Close() error                                  { return nil }

// windowPages reads a whole QueryWindows scan, limit entries at a time.
func windowPages(t *testing.T, read func(p iq.Page, fn func(enc []byte, w window.Windowed[string], v string) error) (iq.PageEnd, error), reverse bool, limit int) string {
	t.Helper()
	var out []string
	p := iq.Page{Reverse: reverse, Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the scan never reports its end")
		}
		end, err := read(p, func(enc []byte, w window.Windowed[string], v string) error {
			if string(enc) != w.Key {
				t.Errorf("encoded key %q for key %q", enc, w.Key)
			}
			out = append(out, fmt.Sprintf("%s@%d-%d=%s", w.Key, w.Window.Start.UnixMilli(), w.Window.End.UnixMilli(), v))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if end.Done {
			return strings.Join(out, " ")
		}
		p.After = end.Last
	}
}

// TestQueryWindowsAndSessionsResumePages checks the paged window and
// session reads against the stores' own iterators, in page sizes down to
// one entry, across segments (a store of an hour's retention has 30-minute
// segments) and with duplicates of one window.
func TestQueryWindowsAndSessionsResumePages(t *testing.T) {
	var checked bool
	in := windowedHarness(t, func(w state.WindowStore[string, string], s state.SessionStore[string, string]) error {
		seg := int64(30 * time.Minute / time.Millisecond)
		for _, e := range []struct {
			k  string
			at int64
			v  string
		}{{"a", 0, "1"}, {"a", 0, "2"}, {"a", 10, "3"}, {"b", 5, "4"}, {"a", seg + 20, "5"}, {"a\x00", seg, "6"}, {"c", seg + 30, "7"}} {
			if err := w.Put(e.k, e.v, time.UnixMilli(e.at)); err != nil {
				return err
			}
			if err := s.Put(window.Windowed[string]{Key: e.k, Window: window.Window{Start: time.UnixMilli(e.at), End: time.UnixMilli(e.at + 5)}}, e.v); err != nil {
				return err
			}
		}
		qw := w.(iq.Window[string, string])
		qs := s.(iq.Session[string, string])
		iterString := func(it state.Iterator[window.Windowed[string], string], err error) string {
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for k, v := range state.All(it, &err) {
				out = append(out, fmt.Sprintf("%s@%d-%d=%s", k.Key, k.Window.Start.UnixMilli(), k.Window.End.UnixMilli(), v))
			}
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(out, " ")
		}
		all := iterString(w.All())
		backward := iterString(w.BackwardAll())
		ofA := iterString(w.FetchKeyRange("a", "a", time.UnixMilli(0), time.UnixMilli(seg+20)))
		sessions := iterString(s.All())
		sessionsOfA := iterString(s.Fetch("a"))
		for _, limit := range []int{1, 2, 3, 100} {
			if got := windowPages(t, func(p iq.Page, fn func([]byte, window.Windowed[string], string) error) (iq.PageEnd, error) {
				return qw.QueryWindows(nil, math.MinInt64, math.MaxInt64, p, fn)
			}, false, limit); got != all {
				t.Errorf("limit %d: windows %s, want %s", limit, got, all)
			}
			if got := windowPages(t, func(p iq.Page, fn func([]byte, window.Windowed[string], string) error) (iq.PageEnd, error) {
				return qw.QueryWindows(nil, math.MinInt64, math.MaxInt64, p, fn)
			}, true, limit); got != backward {
				t.Errorf("limit %d: windows backward %s, want %s", limit, got, backward)
			}
			if got := windowPages(t, func(p iq.Page, fn func([]byte, window.Windowed[string], string) error) (iq.PageEnd, error) {
				return qw.QueryWindows([]byte("a"), 0, seg+20, p, fn)
			}, false, limit); got != ofA {
				t.Errorf("limit %d: windows of a %s, want %s", limit, got, ofA)
			}
			if got := windowPages(t, func(p iq.Page, fn func([]byte, window.Windowed[string], string) error) (iq.PageEnd, error) {
				return qs.QuerySessions(nil, math.MinInt64, math.MaxInt64, p, fn)
			}, false, limit); got != sessions {
				t.Errorf("limit %d: sessions %s, want %s", limit, got, sessions)
			}
			if got := windowPages(t, func(p iq.Page, fn func([]byte, window.Windowed[string], string) error) (iq.PageEnd, error) {
				return qs.QuerySessions([]byte("a"), math.MinInt64, math.MaxInt64, p, fn)
			}, false, limit); got != sessionsOfA {
				t.Errorf("limit %d: sessions of a %s, want %s", limit, got, sessionsOfA)
			}
		}
		if !strings.Contains(all, "a@0-10=1 a@0-10=2") || strings.Count(sessionsOfA, "a@") != 3 {
			t.Errorf("the stores do not hold what was put: windows %s; sessions of a %s", all, sessionsOfA)
		}
		checked = true
		return nil
	})
	in.PipeAt("k", "v", time.UnixMilli(1))
	if !checked {
		t.Fatal("the processor did not run the queries")
	}
}
