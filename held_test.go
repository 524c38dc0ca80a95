package strata_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/engine"
	"github.com/strata-go/strata/topology"
)

// heldRetrier forwards each record as "value@attempt", except that it asks
// for the record "b" to be delivered again twice, 2s then 300ms later, and
// tells held the first time; done is set once b is processed.
type heldRetrier struct {
	ctx  topology.Context[string, string]
	held chan<- int64
	done *atomic.Bool
}

func (p *heldRetrier) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *heldRetrier) Close() error                                    { return nil }
func (p *heldRetrier) Process(r topology.Record[string, string]) error {
	md, _ := p.ctx.RecordMetadata()
	if r.Value == "b" && md.Attempt < 2 {
		wait := 300 * time.Millisecond
		if md.Attempt == 0 {
			wait = 2 * time.Second
		}
		p.ctx.Redeliver(time.Now().Add(wait))
		select {
		case p.held <- md.Offset:
		default:
		}
		return nil
	}
	if r.Value == "b" {
		p.done.Store(true)
	}
	r.Value = fmt.Sprintf("%s@%d", r.Value, md.Attempt)
	return p.ctx.Forward(r)
}

// TestRedeliverOnKafka holds a record back for two redeliveries on the
// embedded broker, under both guarantees: the records behind it in its
// partition wait, the other partition is processed and committed meanwhile,
// the held record's offset is not committed while it waits, and in the end
// every record is output once (exactly-once) in partition order.
func TestRedeliverOnKafka(t *testing.T) {
	for _, g := range []strata.Guarantee{strata.AtLeastOnce, strata.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
			held := make(chan int64, 1)
			var bDone atomic.Bool
			app := newProcessorApp(t, c, "held", g, func() topology.Processor[string, string, string, string] {
				return &heldRetrier{held: held, done: &bDone}
			})
			r := start(t, app)

			// k1's partition holds a, b, c; k2's holds x.
			k1, k2 := "k1", ""
			for i := 2; k2 == ""; i++ {
				if k := fmt.Sprint("k", i); engine.KeyPartition([]byte(k), 2) != engine.KeyPartition([]byte(k1), 2) {
					k2 = k
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var in []*kgo.Record
			for _, v := range []string{"a", "b", "c"} {
				in = append(in, &kgo.Record{Topic: "in", Key: []byte(k1), Value: []byte(v)})
			}
			if err := c.Produce(ctx, in...); err != nil {
				t.Fatal(err)
			}
			var heldAt int64
			select {
			case heldAt = <-held:
			case <-ctx.Done():
				t.Fatal("b was never held back")
			}
			// While b waits, the other partition is processed and
			// committed; b's is not committed past b.
			if err := c.Produce(ctx, &kgo.Record{Topic: "in", Key: []byte(k2), Value: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			p1, p2 := engine.KeyPartition([]byte(k1), 2), engine.KeyPartition([]byte(k2), 2)
			for {
				offsets, err := c.Admin().FetchOffsets(ctx, "held")
				if err != nil {
					t.Fatal(err)
				}
				o1, _ := offsets.Lookup("in", p1)
				if o1.At > heldAt && !bDone.Load() {
					t.Fatalf("in[%d] committed at %d while b, at %d, is held back unprocessed", p1, o1.At, heldAt)
				}
				if o2, ok := offsets.Lookup("in", p2); ok && o2.At == 1 {
					break // x processed and committed while b waits (or after)
				}
				select {
				case <-ctx.Done():
					t.Fatal("the other partition was never committed")
				case <-time.After(20 * time.Millisecond):
				}
			}
			if bDone.Load() {
				t.Log("b was processed before x's commit was seen")
			}
			recs := consumeN(ctx, t, c, "out", 4)
			r.stopAndWait(t)
			var k1Out []string
			for _, rec := range recs {
				if string(rec.Key) == k1 {
					k1Out = append(k1Out, string(rec.Value))
				}
			}
			if want := []string{"a@0", "b@2", "c@0"}; fmt.Sprint(k1Out) != fmt.Sprint(want) {
				t.Errorf("k1's output %q, want %q", k1Out, want)
			}
		})
	}
}

// consumeN reads want records of topic, read_committed, failing the test if
// there are more within a short wait.
func consumeN(ctx context.Context, t *testing.T, c *embedded.Cluster, topic string, want int) []*kgo.Record {
	t.Helper()
	recs, err := c.Consume(ctx, topic, want)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
