package strata_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/topology"
)

func int64Bytes(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// writeTxn writes recs to the changelog in one transaction, committed or
// aborted.
func writeTxn(t *testing.T, c *embedded.Cluster, id string, commit bool, recs ...*kgo.Record) *kgo.Client {
	t.Helper()
	cl, err := c.Client(kgo.TransactionalID(id), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if commit {
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	} else if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestRestoreStopsAtLastStableOffset restores a changelog whose tail is an
// aborted transaction, followed by a transaction still open. Restoration
// must end at the last stable offset: without the aborted values, without
// waiting for the open transaction, and without hanging on offsets that
// transaction markers occupy.
func TestRestoreStopsAtLastStableOffset(t *testing.T) {
	const changelog = "txn-counts-changelog"
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in"}, {Name: "out"},
		{Name: changelog, Configs: map[string]*string{"cleanup.policy": ptr("compact")}},
	}})
	rec := func(k string, v int64) *kgo.Record {
		return &kgo.Record{Topic: changelog, Key: []byte(k), Value: int64Bytes(v)}
	}
	writeTxn(t, c, "writer-1", true, rec("a", 1), rec("b", 2)).Close()
	writeTxn(t, c, "writer-2", true, rec("a", 3)).Close()
	writeTxn(t, c, "writer-3", false, rec("a", 999), rec("c", 999)).Close() // aborted: just below the end

	// A transaction left open: its records sit above the last stable
	// offset until it ends.
	open, err := c.Client(kgo.TransactionalID("writer-open"), kgo.ProducerLinger(0), kgo.TransactionTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := open.ProduceSync(context.Background(), rec("b", 777)).FirstErr(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seen map[string]int64
	snap := func(_ topology.TaskID, contents map[string]int64) {
		mu.Lock()
		seen = contents
		mu.Unlock()
	}
	l := &restoreCounter{}
	app, err := strata.New(countTopology(t, snap), strata.Config{
		ApplicationID:   "txn",
		Brokers:         c.Addrs(),
		StateDir:        t.TempDir(),
		RestoreListener: l,
		Logger:          testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	produceKeys(t, c, []string{"z"})
	runUntil(t, c, app, 1)

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen["a"] != 3 || seen["b"] != 2 {
		t.Fatalf("restored %v, want map[a:3 b:2]: committed values only, nothing aborted or open", seen)
	}
	if l.restored != 3 {
		t.Fatalf("restored %d records, want the 3 committed ones", l.restored)
	}
	if err := open.EndTransaction(context.Background(), kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
}
