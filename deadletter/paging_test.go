package deadletter_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

// TestListPagingBoundedMemory reads a dead set of 47 MiB, three partitions
// of 2,000 records of 8 KiB, in pages of 70 records: the pages together
// hold every record once, in order, across partition boundaries, and a
// page allocates (so holds at most) a bounded amount, whatever the size of
// the dead set: its records and a few fetches of a megabyte (counted
// twice: the in-process broker's allocations count too).
func TestListPagingBoundedMemory(t *testing.T) {
	const (
		partitions = 3
		perPart    = 2000
		valueSize  = 8 << 10
		pageSize   = 70
	)
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: partitions}, {Name: "dlq", Partitions: partitions}}})
	cl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	// Random values: fetch sizes bound compressed bytes.
	random := rand.NewChaCha8([32]byte{1})
	var recs []*kgo.Record
	for p := range int32(partitions) {
		for i := range int64(perPart) {
			value := make([]byte, valueSize)
			if _, err := random.Read(value); err != nil {
				t.Fatal(err)
			}
			d := deadletter.Record{Topic: "in", Partition: p, Offset: i, Key: fmt.Appendf(nil, "%d-%05d", p, i), Value: value, Reason: "r"}
			recs = append(recs, deadletter.Encode("dlq", partitions, d))
		}
	}
	for len(recs) > 0 {
		n := min(len(recs), 50)
		if err := cl.ProduceSync(t.Context(), recs[:n]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
	cl.Close()
	recs = nil
	ds := openDeadSet(t, c)

	var (
		q        = deadletter.Query{Count: pageSize}
		n        int
		maxAlloc uint64
		ms       runtime.MemStats
	)
	for page := 0; ; page++ {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		pg, err := ds.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		maxAlloc = max(maxAlloc, ms.TotalAlloc-before)
		if len(pg.Records) > pageSize {
			t.Fatalf("page %d holds %d records, more than %d", page, len(pg.Records), pageSize)
		}
		for _, d := range pg.Records {
			p, i := n/perPart, n%perPart
			if want := fmt.Sprintf("%d-%05d", p, i); string(d.Key) != want || d.DeadLetterPartition != int32(p) || len(d.Value) != valueSize {
				t.Fatalf("record %d of the dead set is %s (dlq[%d]), want %s", n, d.Key, d.DeadLetterPartition, want)
			}
			n++
		}
		if !pg.More {
			break
		}
		q.After = pg.Next
	}
	if n != partitions*perPart {
		t.Errorf("the pages hold %d records, want %d", n, partitions*perPart)
	}
	const topicBytes = partitions * perPart * valueSize
	t.Logf("a page of %d records (%d KiB) allocated at most %.1f MiB; the dead set holds %d MiB", pageSize, pageSize*valueSize>>10, float64(maxAlloc)/(1<<20), topicBytes>>20)
	if maxAlloc > topicBytes/3 {
		t.Errorf("a page allocated %d MiB, more than a third of the dead set (%d MiB)", maxAlloc>>20, topicBytes>>20)
	}
}
