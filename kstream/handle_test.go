package kstream_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

var errWallet = errors.New("wallet: 503 service unavailable")

// flaky fails each value's first failures[value] calls with errWallet, then
// succeeds; it logs every call as "value@attempt-time".
type flaky struct {
	failures map[string]int
	calls    map[string]int
	log      []string
	now      func() time.Time
}

func newFlaky(failures map[string]int, now func() time.Time) *flaky {
	return &flaky{failures: failures, calls: map[string]int{}, now: now}
}

func (f *flaky) handle(_ context.Context, _ string, v string) kstream.Outcome {
	f.calls[v]++
	f.log = append(f.log, fmt.Sprintf("%s@%s", v, f.now().Format("05.000")))
	if f.calls[v] <= f.failures[v] {
		return kstream.Retry(errWallet)
	}
	return kstream.Success()
}

// handlerDriver builds From("in") → Handle("h", fn) with policy, on a
// driver whose wall clock starts at the epoch.
func handlerDriver(t *testing.T, fn func(context.Context, string, string) kstream.Outcome, policy retry.Policy, cfg testutil.Config) *testutil.Driver {
	t.Helper()
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).Handle("h", fn, kstream.WithRetry(policy))
	return testutil.NewDriver(t, build(t, b), cfg)
}

// deadSet reads every record of the driver's dead-letter topic, parsed.
func deadSet(t *testing.T, d *testutil.Driver) []deadletter.Record {
	t.Helper()
	var out []deadletter.Record
	for _, r := range testutil.NewOutputTopic(d, "test-dead-letter", serde.Bytes(), serde.Bytes()).ReadAll() {
		kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		if r.NullKey {
			kr.Key = nil
		}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		dl, err := deadletter.Parse(kr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

// header returns the value of the last header key of hs.
func header(hs []kgo.RecordHeader, key string) string {
	v := ""
	for _, h := range hs {
		if h.Key == key {
			v = string(h.Value)
		}
	}
	return v
}

// retries reads the retry records the handler "h" wrote, parsed.
func retries(t *testing.T, d *testutil.Driver) []retry.Info {
	t.Helper()
	var out []retry.Info
	for _, r := range testutil.NewOutputTopic(d, "test-h-retry", serde.String(), serde.String()).ReadAll() {
		kr := &kgo.Record{Topic: r.Topic}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		info, _, err := retry.Parse(kr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info)
	}
	return out
}

// A handler that fails k times then succeeds: each record succeeds once,
// after retries due exactly when the policy says, and nothing reaches the
// dead set. The partition's other records are not held up meanwhile.
func TestHandleRetriesUntilSuccess(t *testing.T) {
	var d *testutil.Driver
	f := newFlaky(map[string]int{"a": 2, "b": 1}, func() time.Time { return d.WallClockTime() })
	reader := sdkmetric.NewManualReader()
	d = handlerDriver(t, f.handle, retry.Policy{Backoff: retry.Exponential(time.Second, 2), MaxAttempts: 4},
		testutil.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	in.Pipe("k", "a")
	in.Pipe("k", "b")
	in.Pipe("k", "c") // not held up by a and b, which wait in the retry topic
	if want := []string{"a@00.000", "b@00.000", "c@00.000"}; !slices.Equal(f.log, want) {
		t.Fatalf("calls %q, want %q", f.log, want)
	}
	// The retry records say attempt 1, due a second later, the error and
	// where the record came from.
	got := retries(t, d)
	want := []retry.Info{
		{Attempt: 1, Due: time.UnixMilli(1000), Error: errWallet.Error(), Topic: "in", Partition: 0, Offset: 0},
		{Attempt: 1, Due: time.UnixMilli(1000), Error: errWallet.Error(), Topic: "in", Partition: 0, Offset: 1},
	}
	if !equalInfos(got, want) {
		t.Fatalf("retry records %+v, want %+v", got, want)
	}
	d.AdvanceWallClockTime(999 * time.Millisecond)
	if len(f.log) != 3 {
		t.Fatalf("a retry ran before it was due: %q", f.log)
	}
	d.AdvanceWallClockTime(time.Millisecond) // a fails again, b succeeds
	if got, want := retries(t, d), []retry.Info{{Attempt: 2, Due: time.UnixMilli(3000), Error: errWallet.Error(), Topic: "in", Partition: 0, Offset: 0}}; !equalInfos(got, want) {
		t.Fatalf("second retry records %+v, want %+v", got, want)
	}
	d.AdvanceWallClockTime(2 * time.Second) // a succeeds
	if want := []string{"a@00.000", "b@00.000", "c@00.000", "a@01.000", "b@01.000", "a@03.000"}; !slices.Equal(f.log, want) {
		t.Fatalf("calls %q, want %q", f.log, want)
	}
	d.AdvanceWallClockTime(time.Hour)
	if len(f.log) != 6 {
		t.Fatalf("calls after success: %q", f.log)
	}
	if ds := deadSet(t, d); len(ds) != 0 {
		t.Fatalf("dead set %+v, want none", ds)
	}
	m := collect(t, reader)
	if got, want := m.sums["strata.handler.records"], map[string]int64{"outcome=success": 3, "outcome=retry": 3}; !maps.Equal(got, want) {
		t.Errorf("records by outcome %v, want %v", got, want)
	}
	if got, want := m.sums["strata.handler.retries"], map[string]int64{"attempt=1": 2, "attempt=2": 1}; !maps.Equal(got, want) {
		t.Errorf("retries by attempt %v, want %v", got, want)
	}
	if m.counts["strata.handler.duration"] != 6 {
		t.Errorf("duration histogram counts %d calls, want 6", m.counts["strata.handler.duration"])
	}
}

func equalInfos(a, b []retry.Info) bool {
	return slices.EqualFunc(a, b, func(x, y retry.Info) bool {
		return x.Attempt == y.Attempt && x.Due.Equal(y.Due) && x.Error == y.Error && x.Topic == y.Topic && x.Partition == y.Partition && x.Offset == y.Offset
	})
}

// metrics are a manual reader's sums (by attribute outcome or attempt) and
// histogram counts, for the handler "h".
type metrics struct {
	sums   map[string]map[string]int64
	counts map[string]uint64
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	m := metrics{sums: map[string]map[string]int64{}, counts: map[string]uint64{}}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch data := md.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					if h, _ := dp.Attributes.Value("handler"); h.AsString() != "h" {
						t.Errorf("%s: attribute handler %q", md.Name, h.AsString())
					}
					key := ""
					if v, ok := dp.Attributes.Value("outcome"); ok {
						key = "outcome=" + v.AsString()
					}
					if v, ok := dp.Attributes.Value("attempt"); ok {
						key = "attempt=" + strconv.FormatInt(v.AsInt64(), 10)
					}
					if m.sums[md.Name] == nil {
						m.sums[md.Name] = map[string]int64{}
					}
					m.sums[md.Name][key] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					m.counts[md.Name] += dp.Count
				}
			}
		}
	}
	return m
}

// A handler that always fails: after the last attempt each record is in the
// dead set with its original key, value, timestamp, headers and
// coordinates, the reason, the last error, the handler and the attempts.
func TestHandleExhaustedToDeadSet(t *testing.T) {
	calls := 0
	d := handlerDriver(t, func(context.Context, string, string) kstream.Outcome {
		calls++
		return kstream.Retry(fmt.Errorf("call %d failed", calls))
	}, retry.Policy{Backoff: retry.Fixed(time.Second), MaxAttempts: 3}, testutil.Config{Partitions: map[string]int{"in": 2}})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	in.PipeRecords(
		topology.Record[string, string]{Key: "k1", Value: "v1", Timestamp: time.UnixMilli(500), Headers: hdr("trace", "t1")},
		topology.Record[string, string]{Key: "k2", Value: "v2", Timestamp: time.UnixMilli(600)},
	)
	d.AdvanceWallClockTime(time.Second)
	if ds := deadSet(t, d); len(ds) != 0 {
		t.Fatalf("dead set after two attempts: %+v", ds)
	}
	d.AdvanceWallClockTime(time.Second)
	if calls != 6 {
		t.Fatalf("%d calls, want 3 per record", calls)
	}
	ds := deadSet(t, d)
	if len(ds) != 2 {
		t.Fatalf("dead set %+v, want both records", ds)
	}
	slices.SortFunc(ds, func(a, b deadletter.Record) int { return strings.Compare(string(a.Key), string(b.Key)) })
	for i, want := range []struct {
		key, value string
		ts         int64
		headers    string
	}{{"k1", "v1", 500, "trace=t1"}, {"k2", "v2", 600, ""}} {
		r := ds[i]
		var hs []string
		for _, h := range r.Headers {
			if !strings.HasPrefix(h.Key, "strata.") {
				hs = append(hs, h.Key+"="+string(h.Value))
			}
		}
		if string(r.Key) != want.key || string(r.Value) != want.value || r.Timestamp.UnixMilli() != want.ts || strings.Join(hs, ",") != want.headers {
			t.Errorf("dead-set record %d: %s=%s @%d headers %q, want %+v", i, r.Key, r.Value, r.Timestamp.UnixMilli(), hs, want)
		}
		offset := int64(0)
		if i == 1 && kafkaPartition("k1", 2) == kafkaPartition("k2", 2) {
			offset = 1
		}
		if r.Topic != "in" || r.Partition != kafkaPartition(want.key, 2) || r.Offset != offset {
			t.Errorf("dead-set record %d: coordinates %s[%d]@%d, want in[%d]@%d", i, r.Topic, r.Partition, r.Offset, kafkaPartition(want.key, 2), offset)
		}
		if r.Reason != retry.ReasonExhausted || !strings.HasPrefix(r.Message, "call ") ||
			r.Handler != "h" || r.Attempts != 3 {
			t.Errorf("dead-set record %d: reason %q message %q handler %q attempts %d", i, r.Reason, r.Message, r.Handler, r.Attempts)
		}
	}
	d.AdvanceWallClockTime(time.Hour)
	if calls != 6 || len(deadSet(t, d)) != 0 {
		t.Fatalf("more calls or dead-set records after the last attempt: %d calls", calls)
	}
}

// DeadLetter sends a record to the dead set at once, with its reason; Skip
// does nothing. A record replayed from the dead set (written to the retry
// topic with attempt 0) gets the policy's full budget again.
func TestHandleDeadLetterSkipAndReplay(t *testing.T) {
	var seen []string
	fixed := false
	d := handlerDriver(t, func(_ context.Context, k, v string) kstream.Outcome {
		seen = append(seen, v)
		switch {
		case v == "bad" && !fixed:
			return kstream.DeadLetter("unknown currency")
		case v == "other":
			return kstream.Skip()
		case v == "bad":
			return kstream.Retry(errWallet)
		}
		return kstream.Success()
	}, retry.Policy{Backoff: retry.Fixed(time.Second), MaxAttempts: 2}, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	in.Pipe("k", "bad")
	in.Pipe("k", "other")
	ds := deadSet(t, d)
	if len(ds) != 1 || string(ds[0].Value) != "bad" || ds[0].Reason != "unknown currency" || ds[0].Attempts != 1 {
		t.Fatalf("dead set %+v, want the bad record with its reason", ds)
	}
	// A replay, as package deadletter writes it: attempt 0, due now.
	fixed = true
	rec := retry.NewRecord("test-h-retry", 0, &kgo.Record{Key: ds[0].Key, Value: ds[0].Value, Timestamp: ds[0].Timestamp},
		retry.Info{Attempt: 0, Due: d.WallClockTime(), Topic: ds[0].Topic, Partition: ds[0].Partition, Offset: ds[0].Offset})
	var hs []topology.Header
	for _, h := range rec.Headers {
		hs = append(hs, topology.Header{Key: h.Key, Value: h.Value})
	}
	testutil.NewInputTopic(d, "test-h-retry", serde.String(), serde.String()).
		PipeRecords(topology.Record[string, string]{Key: "k", Value: "bad", Timestamp: ds[0].Timestamp, Headers: hs})
	d.AdvanceWallClockTime(time.Second) // the replay, due at the start (the epoch), runs
	d.AdvanceWallClockTime(time.Second) // its retry
	// The replay failed twice (attempts 0 and 1): its budget was 2 again.
	if want := []string{"bad", "other", "bad", "bad"}; !slices.Equal(seen, want) {
		t.Fatalf("calls %q, want %q", seen, want)
	}
	ds = deadSet(t, d)
	if len(ds) != 1 || ds[0].Reason != retry.ReasonExhausted || ds[0].Topic != "in" || ds[0].Offset != 0 || ds[0].Attempts != 2 {
		t.Fatalf("dead set after the replay %+v, want the record exhausted after 2 attempts, with its first coordinates", ds)
	}
}

// A handler after a transformation retries, and dead-letters, the records
// as it got them: encoded with the stream's serdes.
func TestHandleTransformedInput(t *testing.T) {
	b := topology.NewBuilder()
	lengths := kstream.MapValues(kstream.From(b, "in", serde.String(), serde.String()), func(_, v string) int64 { return int64(len(v)) })
	var got []int64
	lengths.Handle("h", func(_ context.Context, _ string, n int64) kstream.Outcome {
		got = append(got, n)
		return kstream.Retry(errWallet)
	}, kstream.WithRetry(retry.Policy{Backoff: retry.Fixed(time.Second), MaxAttempts: 2}), kstream.WithSerdes(serde.String(), serde.Int64()))
	d := testutil.NewDriver(t, build(t, b), testutil.Config{})
	testutil.NewInputTopic(d, "in", serde.String(), serde.String()).Pipe("k", "four")
	d.AdvanceWallClockTime(time.Second)
	if !slices.Equal(got, []int64{4, 4}) {
		t.Fatalf("calls with %v, want 4 twice", got)
	}
	ds := deadSet(t, d)
	if len(ds) != 1 {
		t.Fatalf("dead set %+v", ds)
	}
	if v, err := serde.Int64().Deserialize("", ds[0].Value); err != nil || v != 4 || ds[0].Topic != "in" {
		t.Fatalf("dead-set value %v (%v) from %s, want 4 from in", v, err, ds[0].Topic)
	}
}

// A panic in a handler's function is its record's processing error, for
// the processing-error policy: fail stops with a PanicError naming the
// handler and the record; skip goes on; dead-letter sends the record to
// the dead set as the handler's own dead-set records, and goes on.
func TestHandlePanic(t *testing.T) {
	fn := func(_ context.Context, _ string, v string) kstream.Outcome {
		if v == "boom" {
			var m map[string]int
			m["x"] = 1 // assignment to a nil map
		}
		return kstream.Success()
	}
	for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
		t.Run(policy.String(), func(t *testing.T) {
			d := handlerDriver(t, fn, retry.Policy{}, testutil.Config{OnProcessingError: policy})
			in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
			in.Pipe("k", "ok")
			err := in.TryPipeRecord(topology.Record[string, string]{Key: "k", Value: "boom", Headers: hdr("trace", "t")})
			if policy == topology.BadRecordFail {
				var pe *topology.PanicError
				if !errors.As(err, &pe) || pe.Node != "h" || !pe.HasRecord || pe.Record.Topic != "in" || pe.Record.Offset != 1 {
					t.Fatalf("err = %v, want a PanicError of handler h on in[0]@1", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("under %s: %v", policy, err)
			}
			in.Pipe("k", "after")
			if d.FailedRecords() != 1 {
				t.Fatalf("FailedRecords = %d, want 1", d.FailedRecords())
			}
			ds := deadSet(t, d)
			if policy == topology.BadRecordSkip {
				if len(ds) != 0 {
					t.Fatalf("dead set under skip: %+v", ds)
				}
				return
			}
			if len(ds) != 1 || string(ds[0].Value) != "boom" || ds[0].Reason != deadletter.ReasonProcessing || !strings.Contains(ds[0].Message, "nil map") ||
				ds[0].Offset != 1 || ds[0].Handler != "h" || header(ds[0].Headers, "trace") != "t" {
				t.Fatalf("dead set %+v, want the record, reason processing, the panic, handler h", ds)
			}
		})
	}
}

// A blocking handler retries in place: the partition's later records wait,
// in order, and nothing goes to the retry topic.
func TestHandleBlocking(t *testing.T) {
	var d *testutil.Driver
	f := newFlaky(map[string]int{"b": 2}, func() time.Time { return d.WallClockTime() })
	d = handlerDriver(t, f.handle, retry.Policy{Backoff: retry.Linear(time.Second, time.Second), Blocking: true}, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	for _, v := range []string{"a", "b", "c"} {
		in.Pipe("k", v)
	}
	d.AdvanceWallClockTime(time.Second) // b's first retry, fails
	d.AdvanceWallClockTime(time.Second) // not yet: the second waits 2s
	d.AdvanceWallClockTime(time.Second) // b succeeds, then c
	if want := []string{"a@00.000", "b@00.000", "b@01.000", "b@03.000", "c@03.000"}; !slices.Equal(f.log, want) {
		t.Fatalf("calls %q, want %q", f.log, want)
	}
	if r := retries(t, d); len(r) != 0 {
		t.Fatalf("retry records %+v in blocking mode", r)
	}
}

// A blocking handler re-reads its records from their source: Build refuses
// one whose source also feeds a store.
func TestHandleBlockingRefusesState(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	s.Handle("h", func(context.Context, string, string) kstream.Outcome { return kstream.Success() },
		kstream.WithRetry(retry.Policy{Blocking: true}))
	kstream.Process(s, func() topology.Processor[string, string, string, string] { return nil },
		kstream.Named("counter"), kstream.WithStores("counts"))
	state.AddKeyValueStore(b, "counts", serde.String(), serde.Int64())
	buildErr(t, b, `"h" retries records in place`, `"counter"`)
}

func TestHandleBuildErrors(t *testing.T) {
	ok := func(context.Context, string, string) kstream.Outcome { return kstream.Success() }
	for name, tc := range map[string]struct {
		handler string
		fn      func(context.Context, string, string) kstream.Outcome
		opts    []kstream.Option
		want    string
	}{
		"nil function":   {"h", nil, nil, "nil function"},
		"empty name":     {"", ok, nil, "needs a name"},
		"bad name":       {"h/1", ok, nil, `contains '/'`},
		"Named":          {"h", ok, []kstream.Option{kstream.Named("x")}, "Named does not apply"},
		"invalid policy": {"h", ok, []kstream.Option{kstream.WithRetry(retry.Policy{Jitter: 2})}, "Jitter"},
		"other option":   {"h", ok, []kstream.Option{kstream.WithPartitions(3)}, "WithPartitions does not apply"},
	} {
		t.Run(name, func(t *testing.T) {
			b := topology.NewBuilder()
			kstream.From(b, "in", serde.String(), serde.String()).Handle(tc.handler, tc.fn, tc.opts...)
			buildErr(t, b, tc.want)
		})
	}
}

// The handler's context is its task's; it carries no deadline of its own.
func TestHandleContext(t *testing.T) {
	var got atomic.Value
	d := handlerDriver(t, func(ctx context.Context, _, _ string) kstream.Outcome {
		got.Store(ctx.Err() == nil)
		return kstream.Success()
	}, retry.Policy{}, testutil.Config{})
	testutil.NewInputTopic(d, "in", serde.String(), serde.String()).Pipe("k", "v")
	if ok, _ := got.Load().(bool); !ok {
		t.Fatal("the handler's context was done")
	}
}
