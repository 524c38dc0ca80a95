package state_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// newSession runs a one-task topology with a session store "s" of string
// keys and hands the test the driver and the store.
func newSession[V any](t testing.TB, vs serde.Serde[V], retention time.Duration, opts ...state.Option) (*testutil.Driver, state.SessionStore[string, V]) {
	t.Helper()
	var store state.SessionStore[string, V]
	top := windowTopology(t, func(b *topology.Builder) {
		state.AddSessionStore(b, "s", serde.String(), vs, retention, opts...)
	}, func(ctx topology.Context[string, string]) (err error) {
		store, err = state.LookupSession[string, V](ctx, "s")
		return err
	})
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app"})
	if store == nil {
		t.Fatal("the processor did not get the store")
	}
	return d, store
}

// sess is the session of key from start to end, in Unix milliseconds.
func sess(key string, start, end int64) window.Windowed[string] {
	return window.Windowed[string]{Key: key, Window: window.Window{Start: at(start), End: at(end)}}
}

// Most cases are Kafka Streams' AbstractSessionBytesStoreTest.
func TestSessionStoreConformance(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			newS := func(t *testing.T) state.SessionStore[string, string] {
				_, s := newSession(t, serde.String(), time.Hour, kind.opts...)
				return s
			}
			t.Run("put and find sessions in range", func(t *testing.T) {
				c, s := wc{t}, newS(t)
				must(t, s.Put(sess("a", 10, 10), "1"))
				must(t, s.Put(sess("a", 500, 1000), "2"))
				must(t, s.Put(sess("a", 1500, 2000), "1"))
				must(t, s.Put(sess("a", 2500, 3000), "2"))
				eq(t, c.windows(s.FindSessions("a", at(0), at(1000))), []string{`"a"@10-10=1`, `"a"@500-1000=2`})
				eq(t, c.windows(s.BackwardFindSessions("a", at(0), at(1000))), []string{`"a"@500-1000=2`, `"a"@10-10=1`})
			})
			t.Run("fetch all sessions of a key", func(t *testing.T) {
				c, s := wc{t}, newS(t)
				must(t, s.Put(sess("a", 0, 0), "1"))
				must(t, s.Put(sess("a", 10, 10), "2"))
				must(t, s.Put(sess("a", 100, 100), "3"))
				must(t, s.Put(sess("a", 1000, 1000), "4"))
				must(t, s.Put(sess("aa", 0, 0), "5"))
				must(t, s.Put(sess("a\x00", 0, 0), "6"))
				want := []string{`"a"@0-0=1`, `"a"@10-10=2`, `"a"@100-100=3`, `"a"@1000-1000=4`}
				eq(t, c.windows(s.Fetch("a")), want)
				eq(t, c.windows(s.BackwardFetch("a")), []string{want[3], want[2], want[1], want[0]})
				eq(t, c.windows(s.Fetch("a\x00")), []string{`"a\x00"@0-0=6`})
				eq(t, c.windows(s.Fetch("b")), nil)
			})
			t.Run("find values within merging session window range", func(t *testing.T) {
				c, s := wc{t}, newS(t)
				must(t, s.Put(sess("a", 0, 0), "1"))
				must(t, s.Put(sess("a", 1000, 1000), "2"))
				eq(t, c.windows(s.FindSessions("a", at(-1), at(1000))), []string{`"a"@0-0=1`, `"a"@1000-1000=2`})
			})
			t.Run("find sessions to merge", func(t *testing.T) {
				c, s := wc{t}, newS(t)
				for i, w := range [][2]int64{{0, 100}, {101, 200}, {201, 300}, {301, 400}, {401, 500}} {
					must(t, s.Put(sess("a", w[0], w[1]), fmt.Sprint(i+1)))
				}
				eq(t, c.windows(s.FindSessions("a", at(150), at(300))), []string{`"a"@101-200=2`, `"a"@201-300=3`})
				// Bounds are inclusive.
				eq(t, c.windows(s.FindSessions("a", at(100), at(101))), []string{`"a"@0-100=1`, `"a"@101-200=2`})
				eq(t, c.windows(s.FindSessions("a", at(501), at(1000))), nil)
			})
			t.Run("remove", func(t *testing.T) {
				c, s := wc{t}, newS(t)
				must(t, s.Put(sess("a", 0, 1000), "1"))
				must(t, s.Put(sess("a", 1500, 2500), "2"))
				must(t, s.Remove(sess("a", 0, 1000)))
				must(t, s.Remove(sess("a", 3, 4))) // absent
				eq(t, c.windows(s.FindSessions("a", at(0), at(1000))), nil)
				eq(t, c.windows(s.FindSessions("a", at(1500), at(2500))), []string{`"a"@1500-2500=2`})
				if _, ok, _ := s.FetchSession("a", at(0), at(1000)); ok {
					t.Fatal("FetchSession found a removed session")
				}
			})
			t.Run("fetch session", func(t *testing.T) {
				s := newS(t)
				must(t, s.Put(sess("a", 0, 1000), "1"))
				must(t, s.Put(sess("a", 0, 1000), "2"))
				must(t, s.Put(sess("a", 0, 999), "3"))
				if v, ok, err := s.FetchSession("a", at(0), at(1000)); !ok || err != nil || v != "2" {
					t.Fatalf("FetchSession = %q, %v, %v", v, ok, err)
				}
				if _, ok, _ := s.FetchSession("a", at(1), at(1000)); ok {
					t.Fatal("FetchSession matched another start")
				}
				if _, ok, _ := s.FetchSession("aa", at(0), at(1000)); ok {
					t.Fatal("FetchSession matched another key")
				}
			})
			t.Run("fetch exact keys", func(t *testing.T) {
				c := wc{t}
				_, s := newSession(t, serde.String(), 1_000_000*time.Hour, kind.opts...)
				const far = 1_000_000_000_000
				must(t, s.Put(sess("a", 0, 0), "1"))
				must(t, s.Put(sess("aa", 0, 10), "2"))
				must(t, s.Put(sess("a", 10, 20), "3"))
				must(t, s.Put(sess("aa", 10, 20), "4"))
				must(t, s.Put(sess("a", far-2, far-1), "5"))
				end := at(far * 2)
				eq(t, c.windows(s.FindSessions("a", at(0), end)), []string{`"a"@0-0=1`, `"a"@10-20=3`, `"a"@999999999998-999999999999=5`})
				eq(t, c.windows(s.FindSessions("aa", at(0), end)), []string{`"aa"@0-10=2`, `"aa"@10-20=4`})
				eq(t, c.windows(s.FindSessionsKeyRange("a", "aa", at(0), end)),
					[]string{`"a"@0-0=1`, `"a"@10-20=3`, `"a"@999999999998-999999999999=5`, `"aa"@0-10=2`, `"aa"@10-20=4`})
				eq(t, c.windows(s.FindSessionsKeyRange("a", "aa", at(10), at(0))), []string{`"aa"@0-10=2`})
				eq(t, c.windows(s.BackwardFindSessionsKeyRange("a", "aa", at(10), at(10))), []string{`"aa"@10-20=4`, `"aa"@0-10=2`, `"a"@10-20=3`})
				eq(t, c.windows(s.FindSessionsKeyRange("aa", "a", at(0), end)), nil)
				eq(t, c.windows(s.All()), []string{`"a"@0-0=1`, `"a"@10-20=3`, `"a"@999999999998-999999999999=5`, `"aa"@0-10=2`, `"aa"@10-20=4`})
			})
			t.Run("expired sessions are not returned", func(t *testing.T) {
				c := wc{t}
				_, s := newSession(t, serde.String(), time.Minute, kind.opts...)
				must(t, s.Put(sess("a", 0, 1000), "1"))
				must(t, s.Put(sess("a", 30_000, 61_000), "2"))
				eq(t, c.windows(s.Fetch("a")), []string{`"a"@30000-61000=2`})
				eq(t, c.windows(s.FindSessions("a", at(0), at(100_000))), []string{`"a"@30000-61000=2`})
				eq(t, c.windows(s.All()), []string{`"a"@30000-61000=2`})
				if _, ok, _ := s.FetchSession("a", at(0), at(1000)); ok {
					t.Fatal("FetchSession returned an expired session")
				}
				must(t, s.Put(sess("b", 0, 1000), "late"))
				eq(t, c.windows(s.Fetch("b")), nil)
				must(t, s.Put(sess("b", 0, 1001), "live"))
				eq(t, c.windows(s.Fetch("b")), []string{`"b"@0-1001=live`})
			})
			t.Run("a null aggregate removes", func(t *testing.T) {
				c := wc{t}
				_, s := newSession(t, serde.Ptr(serde.String()), time.Hour, kind.opts...)
				v := "1"
				must(t, s.Put(sess("a", 0, 1000), &v))
				must(t, s.Put(sess("a", 1500, 2500), &v))
				must(t, s.Put(sess("a", 0, 1000), nil))
				eq(t, c.ptrWindows(s.FindSessions("a", at(0), at(1000))), nil)
				eq(t, c.ptrWindows(s.Fetch("a")), []string{`"a"@1500-2500=1`})
			})
			t.Run("start after end", func(t *testing.T) {
				s := newS(t)
				if err := s.Put(sess("a", 10, 9), "x"); err == nil || !strings.Contains(err.Error(), `store "s"`) {
					t.Fatalf("Put of a session ending before it starts: %v", err)
				}
			})
		})
	}
}

func TestSessionChangelog(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			d, s := newSession(t, serde.String(), time.Hour, kind.opts...)
			log := testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.Bytes())
			must(t, s.Put(sess("k", 0x0A, 0x0102030405), "agg"))
			must(t, s.Remove(sess("k", 0x0A, 0x0102030405)))
			recs := log.ReadAll()
			if len(recs) != 2 {
				t.Fatalf("changelog has %d records, want 2", len(recs))
			}
			// Kafka's SessionKeySchema: key, end (8, BE), start (8, BE).
			want := []byte{'k', 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x0A}
			if !bytes.Equal(recs[0].Key, want) || string(recs[0].Value) != "agg" {
				t.Fatalf("record 0 = % x / %q, want % x / agg", recs[0].Key, recs[0].Value, want)
			}
			if !bytes.Equal(recs[1].Key, want) || !recs[1].NullValue {
				t.Fatalf("Remove must log a tombstone, got %+v", recs[1])
			}
			// The key decodes with window.SessionWindowedSerde.
			w, err := window.SessionWindowedSerde(serde.String()).Deserialize("t", recs[0].Key)
			if err != nil || w.Key != "k" || w.Window.Start.UnixMilli() != 0x0A || w.Window.End.UnixMilli() != 0x0102030405 {
				t.Fatalf("SessionWindowedSerde decodes %+v, %v", w, err)
			}
		})
	}
}

func TestSessionChangelogConfigs(t *testing.T) {
	top := windowTopology(t, func(b *topology.Builder) {
		state.AddSessionStore(b, "s", serde.String(), serde.String(), 5*time.Minute, state.InMemory())
	}, func(topology.Context[string, string]) error { return nil })
	def := engine.Built(*top).Topology().Graph.Store("s")
	want := map[string]string{"cleanup.policy": "compact,delete", "retention.ms": fmt.Sprint((5*time.Minute + 24*time.Hour).Milliseconds())}
	if fmt.Sprint(def.ChangelogConfigs) != fmt.Sprint(want) || def.Kind != "session" || def.Persistent {
		t.Fatalf("store def = %+v", def)
	}
}

func TestSessionRestore(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := wc{t}
			d, s := newSession(t, serde.String(), 2*time.Minute, kind.opts...)
			must(t, s.Put(sess("a", 0, 10), "1"))
			must(t, s.Put(sess("a", 0, 10), "2"))
			must(t, s.Put(sess("a\x00", 5, 100), "3"))
			must(t, s.Put(sess("b", 60_000, 70_000), "4"))
			must(t, s.Remove(sess("b", 60_000, 70_000)))
			must(t, s.Put(sess("b", 100_000, 150_000), "5"))
			recs := changelogRecords(d, "app-s-changelog")

			_, fresh := newSession(t, serde.String(), 2*time.Minute, kind.opts...)
			must(t, fresh.(restorer).Restore(recs[:2]))
			must(t, fresh.(restorer).Restore(recs[2:]))
			want := c.windows(s.All())
			if got := c.windows(fresh.All()); len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("restored %q, want %q", got, want)
			}
			// a@[0,10] expired when the session ending at 150000 was
			// restored (stream time 150000, retention 120000).
			if _, ok, _ := fresh.FetchSession("a", at(0), at(10)); ok {
				t.Fatal("the restored store returns an expired session")
			}
		})
	}
}

func TestSessionRestoreCorruptRecords(t *testing.T) {
	_, s := newSession(t, serde.String(), time.Hour)
	for _, key := range [][]byte{[]byte("fifteen bytes!!"), append([]byte("k"), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2)} {
		err := s.(restorer).Restore([]*kgo.Record{{Topic: "app-s-changelog", Offset: 7, Key: key, Value: []byte("v")}})
		if err == nil || !strings.Contains(err.Error(), `store "s"`) || !strings.Contains(err.Error(), "offset 7") {
			t.Fatalf("Restore of key %x: %v", key, err)
		}
	}
}

func TestAddSessionStoreValidation(t *testing.T) {
	for name, c := range map[string]struct {
		retention time.Duration
		opts      []state.Option
		want      string
	}{
		"zero retention":    {0, nil, `session store "s": retention 0s is less than a millisecond`},
		"retain duplicates": {time.Minute, []state.Option{state.RetainDuplicates()}, `session store "s": RetainDuplicates applies to window stores only`},
	} {
		t.Run(name, func(t *testing.T) {
			b := topology.NewBuilder()
			state.AddSessionStore(b, "s", serde.String(), serde.String(), c.retention, c.opts...)
			if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build error = %v, want %q", err, c.want)
			}
		})
	}
}
