package embedded_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProduceConsumeKeyed(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{
		Topics: []embedded.Topic{{Name: "orders", Partitions: 3}},
	})

	cl, err := c.Client(kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	const n = 30
	want := make(map[string]string, n)
	var recs []*kgo.Record
	for i := range n {
		k, v := fmt.Sprintf("key-%d", i%7), fmt.Sprintf("value-%d", i)
		recs = append(recs, &kgo.Record{Key: []byte(k), Value: []byte(v)})
		want[v] = k
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	partOfKey := make(map[string]int32)
	usedParts := make(map[int32]bool)
	for _, r := range recs {
		partOfKey[string(r.Key)] = r.Partition
		usedParts[r.Partition] = true
	}
	if len(usedParts) < 2 {
		t.Errorf("7 keys landed on %d of 3 partitions; want at least 2", len(usedParts))
	}

	got, err := c.Consume(ctx, "orders", n)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("Consume returned %d records, want %d", len(got), n)
	}
	lastValueOfKey := make(map[string]int) // per-key order is preserved
	for _, r := range got {
		k, v := string(r.Key), string(r.Value)
		if r.Topic != "orders" {
			t.Errorf("record %q has topic %q", v, r.Topic)
		}
		wk, ok := want[v]
		if !ok {
			t.Errorf("unexpected or duplicate record %q=%q", k, v)
			continue
		}
		delete(want, v)
		if wk != k {
			t.Errorf("record %q has key %q, want %q", v, k, wk)
		}
		if p := partOfKey[k]; r.Partition != p {
			t.Errorf("record %q=%q read from partition %d, produced to %d", k, v, r.Partition, p)
		}
		var i int
		fmt.Sscanf(v, "value-%d", &i)
		if last, ok := lastValueOfKey[k]; ok && i <= last {
			t.Errorf("key %q: value-%d read after value-%d", k, i, last)
		}
		lastValueOfKey[k] = i
	}
	if len(want) != 0 {
		t.Errorf("records not consumed: %v", want)
	}
}

func TestProduceHelperAndConsumeAtMostWant(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{
		DefaultPartitions: 2,
		Topics:            []embedded.Topic{{Name: "t"}},
	})
	var recs []*kgo.Record
	for i := range 5 {
		recs = append(recs, &kgo.Record{Topic: "t", Value: fmt.Appendf(nil, "%d", i)})
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	parts := make(map[int32]bool)
	for _, r := range recs {
		parts[r.Partition] = true
	}
	for p := range parts {
		if p < 0 || p > 1 {
			t.Errorf("record on partition %d of a 2-partition topic", p)
		}
	}

	got, err := c.Consume(ctx, "t", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Consume(3) returned %d records", len(got))
	}
	if got, err := c.Consume(ctx, "t", 0); err != nil || got != nil {
		t.Fatalf("Consume(0) = %v, %v; want nil, nil", got, err)
	}
}

func TestConsumeTimeoutReturnsPartial(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{
		Topics: []embedded.Topic{{Name: "t"}},
	})
	if err := c.Produce(testContext(t), &kgo.Record{Topic: "t", Value: []byte("only")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	got, err := c.Consume(ctx, "t", 2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if len(got) != 1 || string(got[0].Value) != "only" {
		t.Fatalf("got %v, want the one record", got)
	}
}

func TestConsumeReadCommitted(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{
		Topics: []embedded.Topic{{Name: "t"}},
	})
	cl, err := c.Client(kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	txn := func(v string, commit kgo.TransactionEndTry) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	txn("aborted", kgo.TryAbort)
	txn("committed", kgo.TryCommit)

	got, err := c.Consume(ctx, "t", 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Value) != "committed" {
		t.Fatalf("got %q, want the committed record", got[0].Value)
	}
}

func TestCreateTopicsTwice(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{})
	if err := c.CreateTopics(ctx, embedded.Topic{Name: "dup", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	err := c.CreateTopics(ctx, embedded.Topic{Name: "dup"}, embedded.Topic{Name: "fresh"})
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("err = %v, want TopicAlreadyExists", err)
	}
	if !strings.Contains(err.Error(), `"dup"`) || strings.Contains(err.Error(), `"fresh"`) {
		t.Fatalf("err = %q, want it to name dup and only dup", err)
	}
	// The other topic in the request is still created.
	md, err := c.Admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Names(); !slices.Contains(got, "fresh") {
		t.Fatalf("topics = %v, want fresh among them", got)
	}
	if n := len(md["dup"].Partitions); n != 2 {
		t.Fatalf("dup has %d partitions, want the original 2", n)
	}

	// Listing a topic twice in one Start is rejected before the broker.
	_, err = embedded.Start(ctx, embedded.Config{Topics: []embedded.Topic{{Name: "x"}, {Name: "x"}}})
	if err == nil || !strings.Contains(err.Error(), `"x" more than once`) {
		t.Fatalf("err = %v, want duplicate topic error", err)
	}
}

func TestTopicConfigs(t *testing.T) {
	ctx := testContext(t)
	compact := "compact"
	c := embedded.StartForTest(t, embedded.Config{
		Topics: []embedded.Topic{{Name: "changelog", Configs: map[string]*string{"cleanup.policy": &compact}}},
	})
	rcs, err := c.Admin().DescribeTopicConfigs(ctx, "changelog")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("changelog", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range rc.Configs {
		if cfg.Key == "cleanup.policy" {
			if cfg.MaybeValue() != "compact" {
				t.Fatalf("cleanup.policy = %q, want compact", cfg.MaybeValue())
			}
			return
		}
	}
	t.Fatal("cleanup.policy not described")
}

func TestCloseIdempotent(t *testing.T) {
	ctx := testContext(t)
	c, err := embedded.Start(ctx, embedded.Config{Brokers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Addrs()); n != 3 {
		t.Fatalf("Addrs() has %d entries, want 3", n)
	}
	c.Close()
	c.Close()
	if err := c.CreateTopics(ctx, embedded.Topic{Name: "t"}); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("CreateTopics after Close = %v, want ErrClosed", err)
	}
	if err := c.Produce(ctx, &kgo.Record{Topic: "t"}); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("Produce after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Consume(ctx, "t", 1); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("Consume after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Client(); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("Client after Close = %v, want ErrClosed", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	ctx := testContext(t)
	for _, tc := range []struct {
		cfg  embedded.Config
		want string
	}{
		{embedded.Config{Brokers: -1}, "Config.Brokers"},
		{embedded.Config{DefaultPartitions: -2}, "Config.DefaultPartitions"},
		{embedded.Config{GroupSessionTimeout: -time.Second}, "Config.GroupSessionTimeout"},
		{embedded.Config{GroupHeartbeatInterval: -time.Second}, "Config.GroupHeartbeatInterval"},
		{embedded.Config{GroupSessionTimeout: time.Second, GroupHeartbeatInterval: time.Second}, "Config.GroupHeartbeatInterval"},
		{embedded.Config{Topics: []embedded.Topic{{Name: "a", Partitions: -1}}}, "Config.Topics[0].Partitions"},
		{embedded.Config{Topics: []embedded.Topic{{Name: "a"}, {}}}, "Config.Topics[1].Name"},
	} {
		c, err := embedded.Start(ctx, tc.cfg)
		if err == nil {
			c.Close()
			t.Errorf("Start(%+v) succeeded, want error naming %s", tc.cfg, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%+v) = %q, want it to name %s", tc.cfg, err, tc.want)
		}
	}

	c := embedded.StartForTest(t, embedded.Config{})
	if err := c.CreateTopics(ctx, embedded.Topic{Name: "t", Partitions: -3}); err == nil || !strings.Contains(err.Error(), "Partitions") {
		t.Errorf("CreateTopics with negative partitions = %v, want error naming Partitions", err)
	}
	if _, err := c.Consume(ctx, "t", -1); err == nil || !strings.Contains(err.Error(), "want") {
		t.Errorf("Consume(-1) = %v, want error naming want", err)
	}
}

func TestClassicConsumerGroup(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{
		Brokers: 3,
		Topics:  []embedded.Topic{{Name: "in", Partitions: 4}},
	})
	const n = 40
	want := make(map[string]bool, n)
	var recs []*kgo.Record
	for i := range n {
		v := fmt.Sprintf("v%d", i)
		want[v] = true
		recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i), Value: []byte(v)})
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}

	cl, err := c.Client(
		kgo.ConsumerGroup("g"),
		kgo.ConsumeTopics("in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%v with %d records missing", err, len(want))
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Logf("fetch error %s/%d: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if !want[string(r.Value)] {
				t.Errorf("unexpected or duplicate record %q", r.Value)
			}
			delete(want, string(r.Value))
		})
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	lags, err := c.Admin().Lag(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := lags.Error(); err != nil {
		t.Fatal(err)
	}
	if l := lags["g"]; l.ProtocolType != "consumer" || l.Lag.Total() != 0 {
		t.Fatalf("group g: protocol type %q, lag %d; want consumer, 0", l.ProtocolType, l.Lag.Total())
	}
}

func TestKIP848ConsumerGroup(t *testing.T) {
	ctx := testContext(t)
	var logs syncBuffer
	c := embedded.StartForTest(t, embedded.Config{
		Topics: []embedded.Topic{{Name: "in", Partitions: 2}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	rcs, err := c.Admin().DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gotCfg := make(map[string]string)
	for _, rc := range rcs {
		for _, cfg := range rc.Configs {
			gotCfg[cfg.Key] = cfg.MaybeValue()
		}
	}
	for k, v := range map[string]string{
		"group.consumer.session.timeout.ms":    "6000",
		"group.consumer.heartbeat.interval.ms": "500",
	} {
		if gotCfg[k] != v {
			t.Errorf("broker config %s = %q, want %q", k, gotCfg[k], v)
		}
	}

	const n = 10
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i)})
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	cl, err := c.Client(
		kgo.ConsumerGroup("g848"),
		kgo.ConsumeTopics("in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ServerSideBalancer(),
		kgo.Balancers(kgo.RangeBalancer()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < n {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%v after %d of %d records", err, got, n)
		}
		got += len(fetches.Records())
	}
	if got != n {
		t.Fatalf("got %d records, want %d", got, n)
	}
	// kfake logs KIP-848 joins at info level.
	if l := logs.String(); !strings.Contains(l, "level=INFO msg=\"consumerJoin: group=g848") {
		t.Errorf("the join was not logged at info level; logs:\n%s", l)
	}
}

func TestConsumeWaitsForTopic(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{})
	type result struct {
		recs []*kgo.Record
		err  error
	}
	done := make(chan result, 1)
	go func() {
		recs, err := c.Consume(ctx, "later", 1)
		done <- result{recs, err}
	}()
	if err := c.CreateTopics(ctx, embedded.Topic{Name: "later"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Produce(ctx, &kgo.Record{Topic: "later", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.recs) != 1 || string(r.recs[0].Value) != "x" {
		t.Fatalf("got %v", r.recs)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStopRestart stops the brokers as an outage would and restarts them
// from their data directory: records and committed offsets survive, the
// addresses stay, and a client that was connected carries on.
func TestStopRestart(t *testing.T) {
	ctx := testContext(t)
	c := embedded.StartForTest(t, embedded.Config{
		DataDir: t.TempDir(),
		Topics:  []embedded.Topic{{Name: "t", Partitions: 2}},
	})
	addrs := c.Addrs()
	cl, err := c.Client(kgo.DefaultProduceTopic("t"), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("a"), Value: []byte("1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := cl.PollRecords(ctx, 1).Records()
	if len(got) != 1 {
		t.Fatalf("polled %d records, want 1", len(got))
	}
	if err := cl.CommitRecords(ctx, got...); err != nil {
		t.Fatal(err)
	}

	c.Stop()
	down, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = c.Admin().ListTopics(down)
	cancel()
	if err == nil {
		t.Fatal("stopped brokers answered a metadata request")
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Addrs(), addrs) {
		t.Errorf("addresses after restart %v, want %v", c.Addrs(), addrs)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("c"), Value: []byte("2")}).FirstErr(); err != nil {
		t.Fatalf("produce after restart: %v", err)
	}
	recs, err := c.Consume(ctx, "t", 2)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, r := range recs {
		values = append(values, string(r.Value))
	}
	slices.Sort(values)
	if !slices.Equal(values, []string{"1", "2"}) {
		t.Errorf("after restart the topic holds %q, want 1 and 2", values)
	}
	offsets, err := c.Admin().FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup("t", got[0].Partition); !ok || o.At != got[0].Offset+1 {
		t.Errorf("committed offset after restart %+v, want %d", o, got[0].Offset+1)
	}
}

func TestRestartErrors(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	if err := c.Restart(); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("Restart of a running cluster: %v", err)
	}
	c.Stop()
	if err := c.Restart(); err == nil || !strings.Contains(err.Error(), "DataDir") {
		t.Errorf("Restart without DataDir: %v", err)
	}
	c.Close()
	if err := c.Restart(); !errors.Is(err, embedded.ErrClosed) {
		t.Errorf("Restart of a closed cluster: %v, want ErrClosed", err)
	}
}
