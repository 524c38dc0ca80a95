package strata_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/topology"
)

// orderListener notes, in seq's order, when task 0_1's restoration ends.
type orderListener struct {
	seq, restored *atomic.Int64
}

func (l orderListener) OnRestoreStart(topology.TaskID, string, string, int64, int64) {}
func (l orderListener) OnBatchRestored(topology.TaskID, string, int64, int)          {}
func (l orderListener) OnRestoreEnd(task topology.TaskID, _ string, _ int64, _ time.Duration) {
	if task.Partition == 1 {
		l.restored.Store(l.seq.Add(1))
	}
}

// TestRestorationDoesNotHoldBackOtherTasks gives task 0_1 a changelog of
// 600 batches to restore, fetched one batch at a time, while task 0_0 has
// nothing to restore and a record to process. The worker restores 0_1
// between its turns of processing, so 0_0's record is counted before 0_1's
// restoration ends; then 0_1 counts on from its restored state.
func TestRestorationDoesNotHoldBackOtherTasks(t *testing.T) {
	// changelog is the number of changelog batches of task 0_1; each
	// takes a fetch to restore.
	const app, changelog = "restoring", 600
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2},
		{Name: app + "-counts-changelog", Partitions: 2, Configs: map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	pcl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	one := binary.BigEndian.AppendUint64(nil, 1)
	for i := range changelog {
		r := &kgo.Record{Topic: app + "-counts-changelog", Partition: 1, Key: fmt.Appendf(nil, "old-%03d", i), Value: one}
		if err := pcl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for p, key := range []string{"new-0", "old-001"} {
		if err := pcl.ProduceSync(ctx, &kgo.Record{Topic: "in", Partition: int32(p), Key: []byte(key), Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	var seq, firstProcessed, restored atomic.Int64
	cfg := testConfig(t, c, app)
	cfg.DisableCache = true
	cfg.RestoreListener = orderListener{seq: &seq, restored: &restored}
	// One batch per partition per fetch, for every client: the
	// changelog takes 600 fetches to restore.
	cfg.ClientOptions = append(cfg.ClientOptions, kgo.FetchMaxPartitionBytes(1))
	a, err := strata.New(crashTopology(t, func() { firstProcessed.CompareAndSwap(0, seq.Add(1)) }), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, a)
	if err := waitCounts(ctx, c, map[string]int64{"new-0": 1, "old-001": 2}, true); err != nil {
		t.Fatal(err)
	}
	r.stopAndWait(t)
	if got := a.Metrics().RestoredRecords; got != changelog {
		t.Fatalf("restored %d records, want %d", got, changelog)
	}
	if p, rs := firstProcessed.Load(), restored.Load(); p == 0 || rs == 0 || p > rs {
		t.Fatalf("event order: first record processed at %d, task 0_1 restored at %d; want processing first", p, rs)
	}
}
