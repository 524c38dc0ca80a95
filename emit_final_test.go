package strata_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// TestEmitOnWindowCloseAcrossRestart counts records per key in tumbling
// windows of 10 s with 5 s of grace, emitting each window's count once,
// when it closes, under exactly-once. The first instance emits window
// [0s, 10s), which stays in the store until 25 s of stream time; it stops,
// and its state directory is deleted. The second instance, restored from
// the changelogs, must not emit that window again when its first record
// comes, and emits [10s, 20s) when it closes. A read_committed reader sees
// each window's count exactly once.
func TestEmitOnWindowCloseAcrossRestart(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 1}, {Name: "out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	const size = 10 * time.Second
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	ktable.AggregateWindows(ktable.WindowedBy(ktable.GroupByKey(s), window.Tumbling(size, 5*time.Second)),
		func() int64 { return 0 }, func(_, _ string, n int64) int64 { return n + 1 },
		ktable.WithValueSerde(serde.Int64()), ktable.EmitOnWindowClose(), ktable.Named("counts")).
		ToStream().To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, c, "emit-final")
	cfg.Guarantee = strata.ExactlyOnce
	produceAt := func(secs ...int) {
		t.Helper()
		for _, sec := range secs {
			r := &kgo.Record{Topic: "in", Key: []byte("a"), Value: []byte("x"), Timestamp: time.UnixMilli(int64(sec) * 1000)}
			if err := c.Produce(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	ks := window.TimeWindowedSerde(serde.String(), size)
	// result reads an output record as "key@start=count".
	result := func(r *kgo.Record) string {
		t.Helper()
		k, err := ks.Deserialize("out", r.Key)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s@%ds=%d", k.Key, k.Window.Start.Unix(), int64(binary.BigEndian.Uint64(r.Value)))
	}
	run := func(produce []int, want string) {
		t.Helper()
		app, err := strata.New(top, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, app)
		produceAt(produce...)
		// Read until the window expected to close has been emitted.
		cl, err := c.Client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for seen := false; !seen; {
			f := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s: %v", want, ctx.Err())
			}
			f.EachRecord(func(rec *kgo.Record) { seen = seen || result(rec) == want })
		}
		r.stopAndWait(t)
	}

	run([]int{1, 16}, "a@0s=1")
	if err := os.RemoveAll(filepath.Join(cfg.StateDir, cfg.ApplicationID)); err != nil {
		t.Fatal(err)
	}
	run([]int{17, 31}, "a@10s=2")

	var got []string
	for _, rec := range readUntilMarker(t, c, "out", "marker") {
		got = append(got, result(rec))
	}
	if want := "[a@0s=1 a@10s=2]"; fmt.Sprint(got) != want {
		t.Fatalf("final window counts %v, want %s: each window once", got, want)
	}
}
