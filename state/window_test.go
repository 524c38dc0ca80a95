package state_test

import (
	"bytes"
	"encoding/binary"
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

// at is a time in Unix milliseconds.
func at(msec int64) time.Time { return time.UnixMilli(msec) }

// windowTopology is a one-processor topology whose processor owns the
// store declare adds as "s", and captures the store it looks up with
// lookup when the driver initialises it.
func windowTopology(t testing.TB, declare func(*topology.Builder), lookup func(topology.Context[string, string]) error) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	declare(b)
	topology.AddSource(b, "src", topology.Source[string, string]{Topics: []string{"in"}, KeySerde: serde.String(), ValueSerde: serde.String()})
	topology.AddProcessor(b, "p", func() topology.Processor[string, string, string, string] {
		return &initProbe{probe: func(ctx topology.Context[string, string]) {
			if err := lookup(ctx); err != nil {
				t.Errorf("lookup: %v", err)
			}
		}}
	}, "src")
	b.ConnectStores("p", "s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// newWindow runs a one-task topology with a window store "s" of string keys
// and hands the test the driver and the store.
func newWindow[V any](t testing.TB, vs serde.Serde[V], size, retention time.Duration, opts ...state.Option) (*testutil.Driver, state.WindowStore[string, V]) {
	t.Helper()
	var store state.WindowStore[string, V]
	top := windowTopology(t, func(b *topology.Builder) {
		state.AddWindowStore(b, "s", serde.String(), vs, size, retention, opts...)
	}, func(ctx topology.Context[string, string]) (err error) {
		store, err = state.LookupWindow[string, V](ctx, "s")
		return err
	})
	d := testutil.NewDriver(t, top, testutil.Config{ApplicationID: "app"})
	if store == nil {
		t.Fatal("the processor did not get the store")
	}
	return d, store
}

func newStringWindow(t testing.TB, opts ...state.Option) (*testutil.Driver, state.WindowStore[string, string]) {
	t.Helper()
	return newWindow(t, serde.String(), 10*time.Millisecond, time.Hour, opts...)
}

// wc collects window and session iterators into strings for comparison:
// c.times(store.FetchRange(...)).
type wc struct{ t *testing.T }

// times reads a single-key window iterator as "start=value".
func (c wc) times(it state.Iterator[time.Time, string], err error) []string {
	c.t.Helper()
	return collectTimesOf(c.t, it, err)
}

// windows reads a windowed iterator as "key@start-end=value".
func (c wc) windows(it state.Iterator[window.Windowed[string], string], err error) []string {
	c.t.Helper()
	return collectWindowsOf(c.t, it, err)
}

func (c wc) ptrTimes(it state.Iterator[time.Time, *string], err error) []string {
	c.t.Helper()
	return collectTimesOf(c.t, it, err)
}

func (c wc) ptrWindows(it state.Iterator[window.Windowed[string], *string], err error) []string {
	c.t.Helper()
	return collectWindowsOf(c.t, it, err)
}

// collectTimesOf reads a single-key window iterator as "start=value".
func collectTimesOf[V any](t *testing.T, it state.Iterator[time.Time, V], err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%d=%v", it.Key().UnixMilli(), show(it.Value())))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// collectWindowsOf reads a windowed iterator as "key@start-end=value".
func collectWindowsOf[V any](t *testing.T, it state.Iterator[window.Windowed[string], V], err error) []string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		w := it.Key()
		out = append(out, fmt.Sprintf("%q@%d-%d=%v", w.Key, w.Window.Start.UnixMilli(), w.Window.End.UnixMilli(), show(it.Value())))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// show formats a value, following pointers.
func show(v any) string {
	if p, ok := v.(*string); ok {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	return fmt.Sprint(v)
}

func TestWindowStoreConformance(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("put and fetch", func(t *testing.T) {
				_, s := newStringWindow(t, kind.opts...)
				if _, ok, err := s.Fetch("a", at(0)); ok || err != nil {
					t.Fatalf("empty store: ok=%v err=%v", ok, err)
				}
				must(t, s.Put("a", "1", at(0)))
				must(t, s.Put("a", "2", at(0)))
				must(t, s.Put("a", "", at(10)))
				if v, ok, _ := s.Fetch("a", at(0)); !ok || v != "2" {
					t.Fatalf("Fetch(a, 0) = %q, %v", v, ok)
				}
				if v, ok, _ := s.Fetch("a", at(10)); !ok || v != "" {
					t.Fatalf("an empty value is a value: Fetch(a, 10) = %q, %v", v, ok)
				}
				if _, ok, _ := s.Fetch("a", at(5)); ok {
					t.Fatal("Fetch of a window never put found one")
				}
				if _, ok, _ := s.Fetch("b", at(0)); ok {
					t.Fatal("Fetch of a key never put found one")
				}
			})
			t.Run("time ranges are inclusive", func(t *testing.T) {
				c := wc{t}
				_, s := newStringWindow(t, kind.opts...)
				for _, ts := range []int64{0, 10, 20, 30} {
					must(t, s.Put("k", fmt.Sprint("v", ts), at(ts)))
				}
				must(t, s.Put("j", "other", at(10)))
				must(t, s.Put("l", "other", at(20)))
				eq(t, c.times(s.FetchRange("k", at(10), at(20))), []string{"10=v10", "20=v20"})
				eq(t, c.times(s.FetchRange("k", at(11), at(19))), nil)
				eq(t, c.times(s.FetchRange("k", at(-100), at(100))), []string{"0=v0", "10=v10", "20=v20", "30=v30"})
				eq(t, c.times(s.BackwardFetchRange("k", at(10), at(30))), []string{"30=v30", "20=v20", "10=v10"})
				eq(t, c.times(s.FetchRange("k", at(20), at(10))), nil)
				eq(t, c.windows(s.FetchAll(at(10), at(20))), []string{`"j"@10-20=other`, `"k"@10-20=v10`, `"k"@20-30=v20`, `"l"@20-30=other`})
			})
			t.Run("order by key then time across segments", func(t *testing.T) {
				c := wc{t}
				// Retention 10 min: segments of 5 min.
				_, s := newWindow(t, serde.String(), time.Minute, 10*time.Minute, kind.opts...)
				const seg = 5 * 60_000
				for _, p := range []struct {
					k  string
					ts int64
				}{{"b", 2 * seg}, {"a", 2 * seg}, {"b", 1}, {"a", seg - 1}, {"c", seg}, {"a", seg}, {"b", seg + 5}} {
					must(t, s.Put(p.k, "v", at(p.ts)))
				}
				want := []string{
					`"a"@299999-359999=v`, `"a"@300000-360000=v`, `"a"@600000-660000=v`,
					`"b"@1-60001=v`, `"b"@300005-360005=v`, `"b"@600000-660000=v`,
					`"c"@300000-360000=v`,
				}
				eq(t, c.windows(s.All()), want)
				rev := append([]string(nil), want...)
				for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
					rev[i], rev[j] = rev[j], rev[i]
				}
				eq(t, c.windows(s.BackwardAll()), rev)
				eq(t, c.windows(s.FetchKeyRange("a", "b", at(seg-1), at(seg+5))),
					[]string{`"a"@299999-359999=v`, `"a"@300000-360000=v`, `"b"@300005-360005=v`})
				eq(t, c.windows(s.BackwardFetchKeyRange("a", "b", at(seg-1), at(seg+5))),
					[]string{`"b"@300005-360005=v`, `"a"@300000-360000=v`, `"a"@299999-359999=v`})
				eq(t, c.windows(s.BackwardFetchAll(at(seg), at(seg))), []string{`"c"@300000-360000=v`, `"a"@300000-360000=v`})
				eq(t, c.times(s.FetchRange("a", at(0), at(3*seg))), []string{"299999=v", "300000=v", "600000=v"})
				eq(t, c.windows(s.FetchKeyRange("b", "a", at(0), at(3*seg))), nil)
			})
			t.Run("keys that are prefixes of each other never mix", func(t *testing.T) {
				c := wc{t}
				_, s := newStringWindow(t, kind.opts...)
				keys := []string{"a", "a\x00", "a\x00\x00", "ab", "a\x01", "\x00", ""}
				for i, k := range keys {
					for _, ts := range []int64{0, 5, 10} {
						// Times interleave with key bytes if
						// keys are not escaped: vary them.
						must(t, s.Put(k, fmt.Sprint(i), at(ts+int64(i))))
					}
				}
				for i, k := range keys {
					want := []string{fmt.Sprintf("%d=%d", i, i), fmt.Sprintf("%d=%d", 5+i, i), fmt.Sprintf("%d=%d", 10+i, i)}
					eq(t, c.times(s.FetchRange(k, at(0), at(100))), want)
					if v, ok, _ := s.Fetch(k, at(int64(i))); !ok || v != fmt.Sprint(i) {
						t.Fatalf("Fetch(%q) = %q, %v", k, v, ok)
					}
				}
				var order []string
				for _, w := range c.windows(s.All()) {
					if k := w[:strings.Index(w, "@")]; len(order) == 0 || order[len(order)-1] != k {
						order = append(order, k)
					}
				}
				eq(t, order, []string{`""`, `"\x00"`, `"a"`, `"a\x00"`, `"a\x00\x00"`, `"a\x01"`, `"ab"`})
				got := c.windows(s.FetchKeyRange("a", "a\x00", at(0), at(100)))
				if len(got) != 6 || !strings.HasPrefix(got[0], `"a"@`) || !strings.HasPrefix(got[3], `"a\x00"@`) {
					t.Fatalf("FetchKeyRange(a, a\\x00) = %q", got)
				}
			})
			t.Run("tombstones delete", func(t *testing.T) {
				c := wc{t}
				d, s := newWindow(t, serde.Ptr(serde.String()), 10*time.Millisecond, time.Hour, kind.opts...)
				v := "x"
				must(t, s.Put("a", &v, at(0)))
				must(t, s.Put("a", &v, at(10)))
				must(t, s.Put("a", nil, at(0)))
				must(t, s.Put("a", nil, at(99))) // absent: still logged
				if _, ok, _ := s.Fetch("a", at(0)); ok {
					t.Fatal("a window put with a nil value is still there")
				}
				if got := c.ptrTimes(s.FetchRange("a", at(0), at(100))); len(got) != 1 || !strings.HasPrefix(got[0], "10=") {
					t.Fatalf("FetchRange = %q", got)
				}
				recs := testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.Bytes()).ReadAll()
				if len(recs) != 4 || recs[2].Value != nil || !recs[2].NullValue || !recs[3].NullValue {
					t.Fatalf("changelog = %+v, want two tombstones last", recs)
				}
			})
			t.Run("duplicates", func(t *testing.T) {
				c := wc{t}
				d, s := newStringWindow(t, append([]state.Option{state.RetainDuplicates()}, kind.opts...)...)
				must(t, s.Put("k", "1", at(5)))
				must(t, s.Put("k", "2", at(5)))
				must(t, s.Put("k", "1", at(5)))
				must(t, s.Put("k", "3", at(6)))
				must(t, s.Put("k\x00", "other", at(5)))
				eq(t, c.times(s.FetchRange("k", at(5), at(5))), []string{"5=1", "5=2", "5=1"})
				eq(t, c.times(s.BackwardFetchRange("k", at(0), at(10))), []string{"6=3", "5=1", "5=2", "5=1"})
				if v, ok, _ := s.Fetch("k", at(5)); !ok || v != "1" {
					t.Fatalf("Fetch of duplicates = %q, %v; want the first", v, ok)
				}
				var seqs []string
				for _, r := range testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.Bytes()).ReadAll() {
					seqs = append(seqs, fmt.Sprint(binary.BigEndian.Uint32(r.Key[len(r.Key)-4:])))
				}
				// One counter per store, as in Kafka Streams.
				eq(t, seqs, []string{"1", "2", "3", "4", "5"})
			})
			t.Run("iterator after close", func(t *testing.T) {
				_, s := newStringWindow(t, kind.opts...)
				must(t, s.Put("a", "1", at(0)))
				it, _ := s.All()
				must(t, it.Close())
				if it.Next() {
					t.Fatal("Next after Close returned true")
				}
				var err error
				for range state.All(it, &err) {
					t.Fatal("a closed iterator yielded")
				}
			})
			t.Run("expired windows are not returned", func(t *testing.T) {
				c := wc{t}
				// Retention 2 min: segments of 1 min.
				_, s := newWindow(t, serde.String(), time.Minute, 2*time.Minute, kind.opts...)
				must(t, s.Put("a", "0", at(0)))
				must(t, s.Put("a", "60000", at(60_000)))
				must(t, s.Put("b", "119999", at(119_999)))
				eq(t, c.times(s.FetchRange("a", at(0), at(200_000))), []string{"0=0", "60000=60000"})
				// Stream time 120000: window 0 has expired (start <=
				// stream time - retention), its segment (0 to 59999)
				// is not dropped yet.
				must(t, s.Put("b", "120000", at(120_000)))
				if _, ok, _ := s.Fetch("a", at(0)); ok {
					t.Fatal("Fetch returned an expired window")
				}
				eq(t, c.times(s.FetchRange("a", at(0), at(200_000))), []string{"60000=60000"})
				eq(t, c.windows(s.All()), []string{`"a"@60000-120000=60000`, `"b"@119999-179999=119999`, `"b"@120000-180000=120000`})
				eq(t, c.windows(s.FetchKeyRange("a", "b", at(0), at(60_000))), []string{`"a"@60000-120000=60000`})
				eq(t, c.windows(s.FetchAll(at(0), at(60_000))), []string{`"a"@60000-120000=60000`})
				// A late put is dropped; the boundary: stream time -
				// retention is expired, one millisecond later is not.
				must(t, s.Put("a", "late", at(0)))
				if _, ok, _ := s.Fetch("a", at(0)); ok {
					t.Fatal("a late put was stored")
				}
				must(t, s.Put("c", "live", at(1)))
				eq(t, c.times(s.FetchRange("c", at(0), at(10))), []string{"1=live"})
			})
		})
	}
}

func TestWindowChangelog(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			d, s := newStringWindow(t, kind.opts...)
			log := testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.Bytes())
			must(t, s.Put("ab", "v1", at(0x0102030405)))
			must(t, s.Put("", "v2", at(0x0102030405)))
			recs := log.ReadAll()
			if len(recs) != 2 {
				t.Fatalf("changelog has %d records, want 2", len(recs))
			}
			// Kafka's WindowKeySchema: key, start (8, BE), seq (4, BE).
			want := []byte{'a', 'b', 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0, 0, 0, 0}
			if !bytes.Equal(recs[0].Key, want) || string(recs[0].Value) != "v1" {
				t.Fatalf("record 0 = % x / %q, want % x / v1", recs[0].Key, recs[0].Value, want)
			}
			if !bytes.Equal(recs[1].Key, want[2:]) {
				t.Fatalf("record 1 key = % x", recs[1].Key)
			}
		})
	}
}

func TestWindowLatePutsAreNotLogged(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			d, s := newWindow(t, serde.String(), time.Minute, time.Minute, kind.opts...)
			log := testutil.NewOutputTopic(d, "app-s-changelog", serde.Bytes(), serde.Bytes())
			must(t, s.Put("a", "1", at(200_000)))
			must(t, s.Put("a", "late", at(200_000-60_000)))
			must(t, s.Put("a", "ok", at(200_000-60_000+1)))
			if n := len(log.ReadAll()); n != 2 {
				t.Fatalf("changelog has %d records, want 2: the late put is not logged", n)
			}
		})
	}
}

func TestWindowChangelogConfigs(t *testing.T) {
	top := windowTopology(t, func(b *topology.Builder) {
		state.AddWindowStore(b, "s", serde.String(), serde.String(), time.Minute, time.Hour, state.ChangelogConfig("min.insync.replicas", "2"))
	}, func(topology.Context[string, string]) error { return nil })
	def := engine.Built(*top).Topology().Graph.Store("s")
	want := map[string]string{"cleanup.policy": "compact,delete", "retention.ms": fmt.Sprint((time.Hour + 24*time.Hour).Milliseconds()), "min.insync.replicas": "2"}
	if fmt.Sprint(def.ChangelogConfigs) != fmt.Sprint(want) || def.Kind != "window" || !def.Logged || !def.Persistent {
		t.Fatalf("store def = %+v", def)
	}
}

// changelogRecords reads a changelog back as the records Restore gets.
func changelogRecords(d *testutil.Driver, topic string) []*kgo.Record {
	var recs []*kgo.Record
	for _, r := range testutil.NewOutputTopic(d, topic, serde.Bytes(), serde.Bytes()).ReadAll() {
		kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		if r.NullValue {
			kr.Value = nil
		}
		recs = append(recs, kr)
	}
	return recs
}

type restorer interface {
	Restore([]*kgo.Record) error
}

func TestWindowRestore(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := wc{t}
			for _, dups := range []bool{false, true} {
				opts := kind.opts
				if dups {
					opts = append([]state.Option{state.RetainDuplicates()}, opts...)
				}
				d, s := newWindow(t, serde.Ptr(serde.String()), time.Minute, 2*time.Minute, opts...)
				p := func(v string) *string { return &v }
				must(t, s.Put("a", p("1"), at(0)))
				must(t, s.Put("a", p("2"), at(0)))
				must(t, s.Put("a\x00", p("3"), at(100)))
				must(t, s.Put("b", p("4"), at(60_000)))
				must(t, s.Put("b", nil, at(60_000)))
				must(t, s.Put("b", p("5"), at(150_000)))
				recs := changelogRecords(d, "app-s-changelog")

				_, fresh := newWindow(t, serde.Ptr(serde.String()), time.Minute, 2*time.Minute, opts...)
				must(t, fresh.(restorer).Restore(recs[:3]))
				must(t, fresh.(restorer).Restore(recs[3:]))
				got := c.ptrWindows(fresh.All())
				want := c.ptrWindows(s.All())
				if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("dups=%v: restored %q, want %q", dups, got, want)
				}
				// Stream time is restored too: window 0 expired
				// when b@150000 was put, in both.
				if _, ok, _ := fresh.Fetch("a", at(0)); ok {
					t.Fatalf("dups=%v: the restored store returns an expired window", dups)
				}
			}
		})
	}
}

func TestWindowRestoreCorruptRecord(t *testing.T) {
	_, s := newStringWindow(t)
	err := s.(restorer).Restore([]*kgo.Record{{Topic: "app-s-changelog", Partition: 0, Offset: 42, Key: []byte("short"), Value: []byte("v")}})
	if err == nil || !strings.Contains(err.Error(), `store "s"`) || !strings.Contains(err.Error(), "offset 42") {
		t.Fatalf("Restore of a corrupt record: %v", err)
	}
}

func TestAddWindowStoreValidation(t *testing.T) {
	for name, c := range map[string]struct {
		size, retention time.Duration
		nilSerde        bool
		want            string
	}{
		"retention below size": {time.Minute, time.Second, false, `window store "s": retention 1s is shorter than the window size 1m0s`},
		"zero size":            {0, time.Minute, false, `window store "s": window size 0s is less than a millisecond`},
		"nil serde":            {time.Minute, time.Minute, true, `store "s": key and value serdes are required`},
	} {
		t.Run(name, func(t *testing.T) {
			b := topology.NewBuilder()
			vs := serde.String()
			if c.nilSerde {
				vs = nil
			}
			state.AddWindowStore(b, "s", serde.String(), vs, c.size, c.retention)
			if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build error = %v, want %q", err, c.want)
			}
		})
	}
}

func TestLookupWindowErrors(t *testing.T) {
	var errs []error
	top := windowTopology(t, func(b *topology.Builder) {
		state.AddWindowStore(b, "s", serde.String(), serde.Int64(), time.Minute, time.Minute)
	}, func(ctx topology.Context[string, string]) error {
		_, err := state.LookupWindow[string, string](ctx, "s")
		errs = append(errs, err)
		_, err = state.LookupKeyValue[string, int64](ctx, "s")
		errs = append(errs, err)
		_, err = state.LookupSession[string, int64](ctx, "s")
		errs = append(errs, err)
		return nil
	})
	testutil.NewDriver(t, top, testutil.Config{})
	for i, want := range []string{
		`store "s" is a window store of key string and value int64, not a window store of key string and value string`,
		`store "s" is a window store of key string and value int64, not a key-value store`,
		`store "s" is a window store of key string and value int64, not a session store of key string and value int64`,
	} {
		if errs[i] == nil || !strings.Contains(errs[i].Error(), want) {
			t.Errorf("lookup %d: %v, want %q", i, errs[i], want)
		}
	}
}

func BenchmarkWindowStorePutFetch(b *testing.B) {
	for _, kind := range kvKinds {
		b.Run(kind.name, func(b *testing.B) {
			_, s := newWindow(b, serde.String(), time.Minute, time.Hour, kind.opts...)
			keys := make([]string, 1024)
			for i := range keys {
				keys[i] = fmt.Sprintf("user-%06d", i)
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				k := keys[i%len(keys)]
				ts := at(int64(i/len(keys)) * 60_000)
				if err := s.Put(k, "a value of some length", ts); err != nil {
					b.Fatal(err)
				}
				if _, ok, err := s.Fetch(k, ts); !ok || err != nil {
					b.Fatal(ok, err)
				}
				i++
			}
		})
	}
}

func TestWindowAndSessionUnlogged(t *testing.T) {
	for _, kind := range kvKinds {
		t.Run(kind.name, func(t *testing.T) {
			c := wc{t}
			opts := append([]state.Option{state.Logging(false)}, kind.opts...)
			d, w := newStringWindow(t, opts...)
			must(t, w.Put("a", "1", at(0)))
			must(t, w.Put("b", "2", at(0)))
			must(t, w.Put("a", "3", at(5)))
			eq(t, c.windows(w.All()), []string{`"a"@0-10=1`, `"a"@5-15=3`, `"b"@0-10=2`})
			d2, s := newSession(t, serde.String(), time.Hour, opts...)
			must(t, s.Put(sess("a", 0, 5), "1"))
			must(t, s.Put(sess("b", 0, 5), "2"))
			must(t, s.Remove(sess("b", 0, 5)))
			eq(t, c.windows(s.All()), []string{`"a"@0-5=1`})
			if got := append(d.ProducedTopics(), d2.ProducedTopics()...); len(got) != 0 {
				t.Fatalf("unlogged stores wrote %q", got)
			}
		})
	}
}
