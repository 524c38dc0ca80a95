package ktable_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// tenMiB is a record cache budget no test here fills.
const tenMiB = 10 << 20

// Mirrors TimeWindowedKStreamImplTest.shouldCountWindowed, for both emit
// strategies, with caching disabled and enabled: tumbling windows of 500ms
// without grace. The driver flushes the cache after every record, so the
// outputs are the same either way, as in Kafka.
func TestTimeWindowedCountKafkaCases(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			b := topology.NewBuilder()
			s := kstream.From(b, "input", serde.String(), serde.String())
			ktable.WindowedBy(ktable.GroupByKey(s), window.Tumbling(500*wms, 0)).Count(append(opts, ktable.Named("count-store"))...).ToStream().To("out")
			d := testutil.NewDriver(t, buildTop(t, b), cfg)
			out := testutil.NewOutputTopic(d, "out", window.TimeWindowedSerde(serde.String(), 500*wms), serde.Int64())
			pipeW(d, "input", wrec{"1", "1", 10}, wrec{"1", "2", 15}, wrec{"1", "3", 500},
				wrec{"2", "10", 550}, wrec{"2", "20", 500}, wrec{"2", "30", 1000})
			if emitFinal {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{
					"[1@0/500] 2 @15",
					"[1@500/1000] 1 @500",
					"[2@500/1000] 2 @550",
				})
				return
			}
			checkWindowed(t, showWindowed(out.ReadAll()), []string{
				"[1@0/500] 1 @10",
				"[1@0/500] 2 @15",
				"[1@500/1000] 1 @500",
				"[2@500/1000] 1 @550",
				"[2@500/1000] 2 @550",
				"[2@1000/1500] 1 @1000",
			})
			// TimeWindowedKStreamImplTest.shouldMaterializeCount: Kafka's
			// caching store also returns windows that expired but are
			// still in its cache ([1@0/500], [1@500/1000],
			// [2@500/1000]); Strata's never returns an expired window,
			// so both modes read what Kafka's uncached store reads
			// (docs/deviations.md).
			it, err := testutil.WindowStore[string, int64](d, "count-store").Partition(0).FetchKeyRange("1", "2", msAt(0), msAt(1000))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for it.Next() {
				got = append(got, fmt.Sprintf("%s@%d/%d=%d", it.Key().Key, it.Key().Window.Start.UnixMilli(), it.Key().Window.End.UnixMilli(), it.Value()))
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			checkWindowed(t, got, []string{"2@1000/1500=1"})
		})
	})
}

// A cached windowed count forwards one update per key and window per
// commit, however many records updated the window in between, with the
// window's value at the previous commit as its old value; without a cache,
// every update is forwarded. Within one input record the driver does not
// commit: the record fans out into n records of its key.
func TestCachedWindowedCountCollapsesUpdates(t *testing.T) {
	const n = 50
	for _, tc := range []struct {
		name  string
		cfg   testutil.Config
		opts  []ktable.Option
		perIn int // outputs and changelog records per input record
	}{
		{"cached", testutil.Config{CacheMaxBytes: tenMiB}, nil, 1},
		{"no cache", testutil.Config{}, nil, n},
		{"caching off", testutil.Config{CacheMaxBytes: tenMiB}, []ktable.Option{ktable.WithStoreOptions(state.Caching(false))}, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := topology.NewBuilder()
			s := kstream.FlatMapValues(kstream.From(b, "in", serde.String(), serde.String()), func(_ string, v string) []string {
				out := make([]string, n)
				for i := range out {
					out[i] = v
				}
				return out
			})
			counts := ktable.WindowedBy(ktable.GroupByKey(s), window.Tumbling(100*wms, time.Hour)).Count(append(tc.opts, ktable.Named("counts"))...)
			counts.ToStream().To("out")
			// The total over windows of each key, kept by adding new
			// counts and subtracting old ones: right only if every
			// update carries the old value downstream saw last.
			ktable.GroupTableBy(counts, func(k window.Windowed[string], c int64) (string, int64) { return k.Key, c },
				ktable.WithKeySerde(serde.String()), ktable.WithValueSerde(serde.Int64())).
				Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v }, ktable.Named("totals")).
				ToStream().To("totals")
			d := testutil.NewDriver(t, buildTop(t, b), tc.cfg)
			out := testutil.NewOutputTopic(d, "out", window.TimeWindowedSerde(serde.String(), 100*wms), serde.Int64())
			totals := testutil.NewOutputTopic(d, "totals", serde.String(), serde.Int64())
			changelog := testutil.NewOutputTopic(d, "test-counts-changelog", serde.Bytes(), serde.Bytes())
			pipeW(d, "in", wrec{"k", "", 10}, wrec{"k", "", 20}, wrec{"j", "", 30}, wrec{"k", "", 150})
			got := showWindowed(out.ReadAll())
			if len(got) != 4*tc.perIn {
				t.Fatalf("%d outputs, want %d per input record:\n%v", len(got), tc.perIn, got)
			}
			if tc.perIn == 1 {
				checkWindowed(t, got, []string{"[k@0/100] 50 @10", "[k@0/100] 100 @20", "[j@0/100] 50 @30", "[k@100/200] 50 @150"})
			}
			if n := len(changelog.ReadAll()); n != 4*tc.perIn {
				t.Fatalf("%d changelog records, want %d per input record", n, tc.perIn)
			}
			last := map[string]int64{}
			for _, r := range totals.ReadAll() {
				last[r.Key] = r.Value
			}
			if last["k"] != 150 || last["j"] != 50 {
				t.Fatalf("totals over windows %v, want k=150 j=50", last)
			}
		})
	}
}

// Mirrors SessionWindowedKStreamImplTest.shouldCountSessionWindowedWithCachingEnabled
// and ...WithCachingDisabled: sessions of a 500ms gap without grace; the
// driver commits after every record, so a merge forwards the tombstone of
// the session it replaces, with a cache or without.
func TestSessionWindowedCountKafkaCases(t *testing.T) {
	cacheModes(t, func(t *testing.T, cfg testutil.Config) {
		emitStrategies(t, func(t *testing.T, emitFinal bool, opts ...ktable.Option) {
			d, out := sessionCountAggWith(t, cfg, window.Session(500*wms, 0), opts...)
			pipeW(d, "topic", wrec{"1", "1", 10}, wrec{"1", "2", 15}, wrec{"1", "3", 600}, wrec{"2", "1", 600}, wrec{"2", "2", 599})
			if emitFinal {
				checkWindowed(t, showWindowed(out.ReadAll()), []string{"[1@10/15] 2 @15"})
				return
			}
			checkWindowed(t, showWindowed(out.ReadAll()), []string{
				"[1@10/10] 1 @10",
				"[1@10/10] null @10",
				"[1@10/15] 2 @15",
				"[1@600/600] 1 @600",
				"[2@600/600] 1 @600",
				"[2@600/600] null @600",
				"[2@599/600] 2 @600",
			})
		})
	})
}

// fanOut turns an input record whose value is "key:ms,key:ms,..." into one
// record per item, of that key and timestamp: records the driver processes
// between two commits.
type fanOut struct {
	ctx topology.Context[string, string]
}

func (f *fanOut) Init(ctx topology.Context[string, string]) error { f.ctx = ctx; return nil }
func (f *fanOut) Close() error                                    { return nil }

func (f *fanOut) Process(r topology.Record[string, string]) error {
	for _, item := range strings.Split(r.Value, ",") {
		k, ms, _ := strings.Cut(item, ":")
		ts, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return err
		}
		if err := f.ctx.Forward(topology.Record[string, string]{Key: k, Value: "x", Timestamp: msAt(ts)}); err != nil {
			return err
		}
	}
	return nil
}

// Mirrors KStreamSessionWindowAggregateProcessorTest.shouldHandleMultipleSessionsAndMerging
// with its caching store, which the test flushes once, after all records:
// each session forwards once, and the sessions created and merged away
// before the flush (d's and a's first) forward nothing, neither their
// update nor their deletion, as Kafka's CachingSessionStore skips deletes
// of sessions its store does not hold.
func TestCachedSessionsOneFlush(t *testing.T) {
	const g, h = sessionGapMS, sessionGapMS / 2
	b := topology.NewBuilder()
	s := kstream.Process(kstream.From(b, "topic", serde.String(), serde.String()), func() topology.Processor[string, string, string, string] { return &fanOut{} })
	ktable.SessionWindowedBy(ktable.GroupByKey(s, ktable.WithKeySerde(serde.String()), ktable.WithValueSerde(serde.String())), window.Session(sessionGapMS*wms, 0)).
		Count(ktable.Named("session-store")).ToStream().To("output")
	d := testutil.NewDriver(t, buildTop(t, b), testutil.Config{CacheMaxBytes: tenMiB})
	out := testutil.NewOutputTopic(d, "output", window.SessionWindowedSerde(serde.String()), serde.Int64())
	changelog := testutil.NewOutputTopic(d, "test-session-store-changelog", serde.Bytes(), serde.Bytes())
	pipeW(d, "topic", wrec{"", fmt.Sprintf("a:0,b:0,c:0,d:0,d:%d,a:%d,b:%d,a:%d,c:%d", h, g+1, g+1, g+1+h, g+1+h), 0})
	at := func(k string, start, end int64, v string) string {
		return fmt.Sprintf("[%s@%d/%d] %s @%d", k, start, end, v, end)
	}
	checkWindowed(t, showWindowed(out.ReadAll()), []string{
		at("a", 0, 0, "1"),
		at("b", 0, 0, "1"),
		at("c", 0, 0, "1"),
		at("d", 0, h, "2"),
		at("b", g+1, g+1, "1"),
		at("a", g+1, g+1+h, "2"),
		at("c", g+1+h, g+1+h, "1"),
	})
	// The sessions ending at 0 and 150000 had expired by the flush
	// (retention gap + 1ms, stream time 450001): forwarded, as their
	// updates happened, but neither stored nor logged.
	if n := len(changelog.ReadAll()); n != 3 {
		t.Fatalf("%d changelog records, want one per session still live: 3", n)
	}
	// A second commit round: a merge of a session the store holds
	// forwards its deletion, with its old value, then the merged
	// session.
	pipeW(d, "topic", wrec{"", fmt.Sprintf("c:%d,c:%d", g+1+h+1, g+1+h+2), 0})
	checkWindowed(t, showWindowed(out.ReadAll()), []string{
		at("c", g+1+h, g+1+h, "null"),
		at("c", g+1+h, g+1+h+2, "3"),
	})
	checkWindowed(t, sessionRows[int64](d, "session-store"), []string{
		fmt.Sprintf("a@%d/%d=2", g+1, g+1+h),
		fmt.Sprintf("b@%d/%d=1", g+1, g+1),
		fmt.Sprintf("c@%d/%d=3", g+1+h, g+1+h+2),
	})
}
