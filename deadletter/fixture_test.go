package deadletter_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

// now is the clock of the tests' dead sets.
var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// dead returns the dead-set record of in[p]@offset, key key, given up by
// handler (none if "": a record of the processing-error policy).
func dead(p int32, offset int64, key, handler string) deadletter.Record {
	r := failed(p, offset, key, "v"+fmt.Sprint(offset))
	d := deadletter.Record{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers,
		Reason: deadletter.ReasonProcessing, Message: "failed " + key,
	}
	if handler != "" {
		d.Handler, d.Attempts, d.Reason = handler, 3, deadletter.ReasonRetriesExhausted
	}
	return d
}

// version1 returns d as Strata wrote it before the dead set: without the
// version header.
func version1(r *kgo.Record) *kgo.Record {
	r.Headers = slices.DeleteFunc(r.Headers, func(h kgo.RecordHeader) bool { return h.Key == deadletter.HeaderVersion })
	return r
}

// deadSetCluster starts a cluster for application "app" with "in" (2
// partitions), its dead-letter topic "dlq" (2 partitions), the retry
// topics of handlers "pay" and "mail" and a topic "other", and writes to
// "dlq", in transactions: a (from in[0]@3, handler pay), b (in[1]@7, pay),
// c (in[1]@8, pay, in an aborted transaction), d (in[0]@9, mail) and e
// (in[1]@11, of version 1, no handler). So dlq[0] holds a, d and dlq[1]
// b, e, each with transaction markers between them.
func deadSetCluster(t *testing.T) *embedded.Cluster {
	t.Helper()
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 2}, {Name: "dlq", Partitions: 2}, {Name: "other"},
		{Name: "app-pay-retry", Partitions: 2}, {Name: "app-mail-retry", Partitions: 2},
	}})
	write := func(commit bool, recs ...*kgo.Record) { writeTxn(t, c, commit, recs...) }
	write(true, deadletter.Encode("dlq", 2, dead(0, 3, "a", "pay")), deadletter.Encode("dlq", 2, dead(1, 7, "b", "pay")))
	write(false, deadletter.Encode("dlq", 2, dead(1, 8, "c", "pay")))
	write(true, deadletter.Encode("dlq", 2, dead(0, 9, "d", "mail")), version1(deadletter.Encode("dlq", 2, dead(1, 11, "e", ""))))
	return c
}

// writeTxn writes recs in a transaction, committed or aborted.
func writeTxn(t *testing.T, c *embedded.Cluster, commit bool, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionalID("writer"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// openDeadSet opens application "app"'s dead set "dlq" on c.
func openDeadSet(t *testing.T, c *embedded.Cluster) *deadletter.DeadSet {
	t.Helper()
	ds, err := deadletter.Open(deadletter.Config{
		ApplicationID: "app",
		Topic:         "dlq",
		ClientOptions: []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)},
		Now:           func() time.Time { return now },
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// listAll returns every record of the dead set q selects, a page of
// q.Count at a time.
func listAll(t *testing.T, ds *deadletter.DeadSet, q deadletter.Query) []deadletter.Record {
	t.Helper()
	var all []deadletter.Record
	for {
		page, err := ds.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Records...)
		if !page.More {
			return all
		}
		q.After = page.Next
	}
}

// keys returns the records' keys, in order, joined by spaces.
func keys(recs []deadletter.Record) string {
	var s []string
	for _, d := range recs {
		s = append(s, string(d.Key))
	}
	return strings.Join(s, " ")
}

// readCommitted returns what a read_committed consumer reads of topic, up
// to its last stable offsets, partition by partition.
func readCommitted(t *testing.T, c *embedded.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ends, err := c.Admin().ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	starts, err := c.Admin().ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	from := map[int32]kgo.Offset{}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, _ := starts.Lookup(topic, o.Partition); o.Offset > s.Offset {
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
			left[o.Partition] = o.Offset
		}
	})
	if len(from) == 0 {
		return nil
	}
	cl, err := c.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	byPartition := map[int32][]*kgo.Record{}
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %v (left: %v)", topic, err, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if !r.Attrs.IsControl() {
				byPartition[r.Partition] = append(byPartition[r.Partition], r)
			}
		})
	}
	var out []*kgo.Record
	for _, p := range slices.Sorted(func(yield func(int32) bool) {
		for p := range byPartition {
			if !yield(p) {
				return
			}
		}
	}) {
		out = append(out, byPartition[p]...)
	}
	return out
}

// endOffsets returns the sum of topic's end offsets: it changes when
// anything, a transaction marker included, is written to it.
func endOffsets(t *testing.T, c *embedded.Cluster, topic string) int64 {
	t.Helper()
	ends, err := c.Admin().ListEndOffsets(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			n += o.Offset
		}
	})
	return n
}

// header returns the value of r's header key.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
