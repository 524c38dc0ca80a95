package strata_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// metricsReader is an App's MeterProvider read with the OpenTelemetry
// SDK's manual reader.
type metricsReader struct {
	t      *testing.T
	reader *sdkmetric.ManualReader
}

func newMetricsReader(t *testing.T, cfg *strata.Config) *metricsReader {
	reader := sdkmetric.NewManualReader()
	cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	return &metricsReader{t: t, reader: reader}
}

// collect returns the metrics of Strata's scope, by name.
func (m *metricsReader) collect() map[string]metricdata.Aggregation {
	m.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		m.t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/strata-go/strata" {
			continue
		}
		for _, mt := range sm.Metrics {
			out[mt.Name] = mt.Data
		}
	}
	return out
}

// int64Points returns the data points of an int64 sum or gauge.
func int64Points(data metricdata.Aggregation) []metricdata.DataPoint[int64] {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return d.DataPoints
	case metricdata.Gauge[int64]:
		return d.DataPoints
	}
	return nil
}

// sumWhere adds the values of the points whose attributes include every
// key=value pair of match.
func sumWhere(points []metricdata.DataPoint[int64], match ...string) int64 {
	var n int64
	for _, p := range points {
		if hasAttrs(p.Attributes, match...) {
			n += p.Value
		}
	}
	return n
}

func hasAttrs(set attribute.Set, match ...string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		v, ok := set.Value(attribute.Key(match[i]))
		if !ok || v.Emit() != match[i+1] {
			return false
		}
	}
	return true
}

// histogramCount is how many measurements a float64 histogram holds, over
// every attribute set.
func histogramCount(data metricdata.Aggregation) uint64 {
	var n uint64
	if h, ok := data.(metricdata.Histogram[float64]); ok {
		for _, p := range h.DataPoints {
			n += p.Count
		}
	}
	if h, ok := data.(metricdata.Histogram[int64]); ok {
		for _, p := range h.DataPoints {
			n += p.Count
		}
	}
	return n
}

// waitMetric polls m until cond holds of its metrics, failing the test
// after testTimeout.
func (m *metricsReader) waitMetric(what string, cond func(map[string]metricdata.Aggregation) bool) map[string]metricdata.Aggregation {
	m.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		got := m.collect()
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("metrics never showed %s", what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// failOn13 forwards every record but those whose value is 13, which it
// fails.
type failOn13 struct {
	ctx topology.Context[string, int64]
}

func (p *failOn13) Init(ctx topology.Context[string, int64]) error { p.ctx = ctx; return nil }
func (p *failOn13) Close() error                                   { return nil }
func (p *failOn13) Process(r topology.Record[string, int64]) error {
	if r.Value == 13 {
		return errors.New("13 is unlucky")
	}
	return p.ctx.Forward(r)
}

// outcomesTopology has a sub-topology per kind of outcome:
//
//	in (int64 values) → fail on 13 → out
//	agg → GroupByKey → Count → counted (drops null keys and values)
//	windows → tumbling 10s windows, no grace → Count → wcounts (drops
//	          records for closed windows)
func outcomesTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.Int64())
	kstream.Process(in, func() topology.Processor[string, int64, string, int64] { return &failOn13{} }).
		To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	agg := kstream.From(b, "agg", serde.String(), serde.String())
	ktable.GroupByKey(agg).Count(ktable.Named("agg-counts")).ToStream().
		To("counted", kstream.WithSerdes(serde.String(), serde.Int64()))
	win := kstream.From(b, "windows", serde.String(), serde.String())
	ktable.WindowedBy(ktable.GroupByKey(win), window.Tumbling(10*time.Second, 0)).Count(ktable.Named("window-counts")).ToStream().
		To("wcounts", kstream.WithSerdes(window.TimeWindowedSerde(serde.String(), 10*time.Second), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestMetricsOfOutcomes runs a known workload and reads the App's metrics
// with the SDK's manual reader: records processed, failed and dropped per
// reason are exact, summed over tasks; every input partition's lag is zero
// once everything is processed; the latency histograms hold measurements.
func TestMetricsOfOutcomes(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2},
		{Name: "agg"}, {Name: "counted"}, {Name: "windows"}, {Name: "wcounts"},
	}})
	cfg := testConfig(t, c, "outcomes")
	cfg.DisableCache = true
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.OnBadRecord = topology.BadRecordSkip
	cfg.OnProcessingError = topology.BadRecordSkip
	m := newMetricsReader(t, &cfg)
	app, err := strata.New(outcomesTopology(t), cfg)
	if err != nil {
		t.Fatal(err)
	}

	const n, bad, unlucky = 40, 3, 2
	var recs []*kgo.Record
	for i := range n {
		v := int64Bytes(int64(i % 20)) // 13 twice
		if i%13 == 5 {
			v = []byte("bad") // not 8 bytes: undecodable, 3 of them
		}
		recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i), Value: v})
	}
	const nullKeys, nullValues, aggOK = 4, 2, 5
	for i := range nullKeys {
		recs = append(recs, &kgo.Record{Topic: "agg", Value: fmt.Appendf(nil, "v%d", i)})
	}
	for range nullValues {
		recs = append(recs, &kgo.Record{Topic: "agg", Key: []byte("a")})
	}
	for range aggOK {
		recs = append(recs, &kgo.Record{Topic: "agg", Key: []byte("a"), Value: []byte("x")})
	}
	base := time.UnixMilli(0).Add(24 * time.Hour)
	recs = append(recs, &kgo.Record{Topic: "windows", Key: []byte("w"), Value: []byte("x"), Timestamp: base.Add(100 * time.Second)})
	const late = 3
	for i := range late {
		recs = append(recs, &kgo.Record{Topic: "windows", Key: []byte("w"), Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	if err := c.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Consume(ctx, "out", n-bad-unlucky); err != nil {
		t.Fatalf("consume out: %v", err)
	}
	// The output is written while the records are processed: the
	// counts and positions follow at the end of the batch.
	total := int64(n - bad + nullKeys + nullValues + aggOK + 1 + late)
	got := m.waitMetric("every record counted and every lag zero", func(got map[string]metricdata.Aggregation) bool {
		lags := int64Points(got["strata.consumer.lag"])
		return sumWhere(int64Points(got["strata.records.processed"])) == total-unlucky &&
			len(lags) == 4 && sumWhere(lags) == 0
	})

	processed := int64Points(got["strata.records.processed"])
	for _, p := range processed {
		if _, ok := p.Attributes.Value("instance"); !ok || !hasAttrs(p.Attributes, "application", "outcomes") {
			t.Errorf("strata.records.processed point %v lacks the application and instance", p.Attributes.ToSlice())
		}
		if _, ok := p.Attributes.Value("task"); !ok {
			t.Errorf("strata.records.processed point %v lacks the task", p.Attributes.ToSlice())
		}
	}
	dropped := int64Points(got["strata.records.dropped"])
	for reason, want := range map[string]int64{"bad_record": bad, "null_key": nullKeys, "null_value": nullValues, "expired_window": late, "late": 0, "stale_response": 0, "other": 0} {
		if v := sumWhere(dropped, "reason", reason); v != want {
			t.Errorf("strata.records.dropped{reason=%s} = %d, want %d", reason, v, want)
		}
	}
	if v := sumWhere(dropped, "reason", "null_key", "task", "1_0"); v != nullKeys {
		t.Errorf("strata.records.dropped{reason=null_key, task=1_0} = %d, want %d (the aggregation's sub-topology)", v, nullKeys)
	}
	for _, p := range dropped {
		reason, _ := p.Attributes.Value("reason")
		proc, ok := p.Attributes.Value("processor")
		if reason.AsString() == "bad_record" {
			if ok {
				t.Errorf("a bad record's drop names processor %s", proc.Emit())
			}
		} else if !ok || proc.AsString() == "" {
			t.Errorf("drop %v names no processor", p.Attributes.ToSlice())
		}
	}
	failed := int64Points(got["strata.records.failed"])
	if v, w := sumWhere(failed, "reason", "processing"), sumWhere(failed, "reason", "production"); v != unlucky || w != 0 {
		t.Errorf("strata.records.failed = %d processing, %d production; want %d and 0", v, w, unlucky)
	}
	am := app.Metrics()
	if am.Processed != total-unlucky || am.SkippedRecords != bad || am.FailedRecords != unlucky || am.DroppedRecords != nullKeys+nullValues+late {
		t.Errorf("App.Metrics() = %+v", am)
	}
	tasks := int64Points(got["strata.tasks"])
	if v := sumWhere(tasks, "state", "running"); v != 4 {
		t.Errorf("strata.tasks{state=running} = %d, want the 4 tasks", v)
	}
	if v := sumWhere(int64Points(got["strata.rebalances"])); v < 1 {
		t.Errorf("strata.rebalances = %d, want the first join at least", v)
	}
	r.stopAndWait(t)
	got = m.collect()
	for _, name := range []string{"strata.process.duration", "strata.record.latency", "strata.store.operation.duration",
		"strata.commit.duration", "strata.poll.duration", "strata.poll.records", "strata.rebalance.duration"} {
		if histogramCount(got[name]) == 0 {
			t.Errorf("histogram %s holds no measurement", name)
		}
	}
	if h, ok := got["strata.store.operation.duration"].(metricdata.Histogram[float64]); ok {
		ops := map[string]bool{}
		for _, p := range h.DataPoints {
			op, _ := p.Attributes.Value("operation")
			store, _ := p.Attributes.Value("store")
			ops[store.AsString()+"/"+op.AsString()] = true
		}
		for _, want := range []string{"agg-counts/get", "agg-counts/put", "window-counts/get", "window-counts/put"} {
			if !ops[want] {
				t.Errorf("no store latency measured for %s; have %v", want, ops)
			}
		}
	}
	if v := sumWhere(int64Points(got["strata.commits"])); v < 1 || v != app.Metrics().Commits {
		t.Errorf("strata.commits = %d, want App.Metrics().Commits = %d", v, app.Metrics().Commits)
	}
}

// TestLagWhilePaused: an app held up in the middle of a partition's records
// reports a positive lag for it; released, it catches up and reports zero.
func TestLagWhilePaused(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	cfg := testConfig(t, c, "lag")
	m := newMetricsReader(t, &cfg)
	paused, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	app, err := strata.New(upper(t, "in", "out", func(v string) {
		if v == "pause" {
			once.Do(func() {
				close(paused)
				<-release
			})
		}
	}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var recs []*kgo.Record
	for i := range n {
		v := "v"
		if i == 10 {
			v = "pause"
		}
		recs = append(recs, &kgo.Record{Topic: "in", Value: []byte(v)})
	}
	if err := c.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	select {
	case <-paused:
	case err := <-r.done:
		t.Fatalf("Run returned %v before the pause", err)
	case <-time.After(testTimeout):
		t.Fatal("the app never reached the pausing record")
	}
	// More records arrive while the app is held up.
	if err := c.Produce(context.Background(), &kgo.Record{Topic: "in", Value: []byte("w")}); err != nil {
		t.Fatal(err)
	}
	lag := sumWhere(int64Points(m.collect()["strata.consumer.lag"]), "topic", "in", "partition", "0")
	if lag < n-10 {
		t.Errorf("while paused at offset 10 of %d records, strata.consumer.lag = %d, want at least %d", n, lag, n-10)
	}
	if rep := app.Tasks(); len(rep.Tasks) != 1 || len(rep.Tasks[0].Partitions) != 1 || rep.Tasks[0].Partitions[0].Lag != lag {
		t.Errorf("Tasks() = %+v, want the lag %d", rep, lag)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Consume(ctx, "out", n+1); err != nil {
		t.Fatalf("consume: %v", err)
	}
	m.waitMetric("the lag back to zero", func(got map[string]metricdata.Aggregation) bool {
		points := int64Points(got["strata.consumer.lag"])
		return len(points) == 1 && points[0].Value == 0
	})
	r.stopAndWait(t)
}

// TestTransactionMetrics: under exactly-once, a transaction that aborts
// (an output too large to produce, skipped by policy) counts as aborted,
// the others as committed.
func TestTransactionMetrics(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	cfg := testConfig(t, c, "txns")
	cfg.Guarantee = strata.ExactlyOnce
	cfg.OnProductionError = topology.BadRecordSkip
	m := newMetricsReader(t, &cfg)
	b := topology.NewBuilder()
	kstream.MapValues(kstream.From(b, "in", serde.String(), serde.String()), func(_, v string) string {
		if v == "big" {
			return strings.Repeat("b", 2<<20) // past the producer's 1 MB batch limit
		}
		return v
	}).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Produce(context.Background(),
		&kgo.Record{Topic: "in", Value: []byte("a")},
		&kgo.Record{Topic: "in", Value: []byte("big")},
		&kgo.Record{Topic: "in", Value: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	got := m.waitMetric("a transaction aborted and one committed", func(got map[string]metricdata.Aggregation) bool {
		txns := int64Points(got["strata.transactions"])
		return sumWhere(txns, "outcome", "aborted") >= 1 && sumWhere(txns, "outcome", "committed") >= 1 &&
			sumWhere(int64Points(got["strata.records.failed"]), "reason", "production") == 1
	})
	txns := int64Points(got["strata.transactions"])
	if v := sumWhere(txns, "outcome", "committed"); v != sumWhere(int64Points(got["strata.commits"])) {
		t.Errorf("strata.transactions{outcome=committed} = %d, strata.commits = %d: want them equal", v, sumWhere(int64Points(got["strata.commits"])))
	}
	r.stopAndWait(t)
}
