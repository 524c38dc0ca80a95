package faults_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// oversizeTopology maps each record of "in" to "mapped", a value "big"
// becoming 2 MiB (past the producer's 1 MB batch limit), and counts records
// per key into "counts" (with the record cache off, one count per record).
func oversizeTopology(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	kstream.MapValues(in, func(_ string, v string) string {
		if v == "big" {
			return strings.Repeat("b", 2<<20)
		}
		return v
	}).To("mapped")
	ktable.GroupByKey(in).Count(ktable.Named("counts")).ToStream().
		To("counts", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// TestOversizedOutput runs a topology one of whose input records makes an
// output record too large to produce, under each production-error policy
// and both guarantees. The offset of that record is never committed unless
// the policy handles it; under exactly-once the record's other effects are
// skipped with it, and every other record's output is there exactly once.
func TestOversizedOutput(t *testing.T) {
	const n, keys, bigAt = 300, 10, 137
	policies := []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter}
	for _, g := range guarantees {
		for _, policy := range policies {
			t.Run(fmt.Sprintf("%s/%s", g, policy), func(t *testing.T) {
				c := cluster(t, embedded.Topic{Name: "in", Partitions: 3}, embedded.Topic{Name: "mapped", Partitions: 3},
					embedded.Topic{Name: "counts", Partitions: 3})
				input := keyedInput("in", n, keys, map[int]string{bigAt: "big"})
				produce(t, c, input...)
				big := input[bigAt]
				cfg := appConfig(t, c, "oversize", g)
				cfg.OnProductionError = policy
				cfg.DisableCache = true
				app, err := strata.New(oversizeTopology(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				r := run(t, app)
				if policy == topology.BadRecordFail {
					checkProductionFails(t, c, r, big, g)
					// A restart meets the record again, and fails again.
					app2, err := strata.New(oversizeTopology(t), cfg)
					if err != nil {
						t.Fatal(err)
					}
					if err := run(t, app2).wait(t, waitLimit); !errors.Is(err, strata.ErrProduction) {
						t.Fatalf("restarted Run: %v, want ErrProduction again", err)
					}
					return
				}
				waitCommitted(t, c, "oversize", "in", r.stopped)
				if _, err := r.stop(t, waitLimit); err != nil {
					t.Fatalf("Run: %v", err)
				}
				checkOversizeOutput(t, c, input, bigAt, g, policy)
				if got := app.Metrics().FailedRecords; got < 1 {
					t.Errorf("Metrics.FailedRecords = %d, want at least 1", got)
				}
			})
		}
	}
}

// checkProductionFails checks Run's failure under the policy fail: an error
// naming the output and the input record, no offset committed past the
// record, and under exactly-once nothing of the failed transaction visible.
func checkProductionFails(t *testing.T, c *embedded.Cluster, r *running, big *kgo.Record, g strata.Guarantee) {
	t.Helper()
	err := r.wait(t, waitLimit)
	if !errors.Is(err, strata.ErrProduction) {
		t.Fatalf("Run: %v, want ErrProduction", err)
	}
	coords := fmt.Sprintf("in[%d]@%d", big.Partition, big.Offset)
	if !strings.Contains(err.Error(), coords) || !strings.Contains(err.Error(), "mapped[") {
		t.Errorf("Run's error %q does not name the input record %s and the output topic", err, coords)
	}
	offsets := committedOffsets(t, c, "oversize", "in")
	if at, ok := offsets[big.Partition]; ok && at > big.Offset {
		t.Errorf("committed offset %d of in[%d] passes the record at %d whose output failed", at, big.Partition, big.Offset)
	}
	if g == strata.ExactlyOnce {
		// Whatever was committed covers only records before the
		// committed offsets; none of the failed transaction shows.
		committed := 0
		for _, at := range offsets {
			committed += int(at)
		}
		if got := len(readAll(t, c, "mapped")); got != committed {
			t.Errorf("read_committed sees %d mapped records for %d committed inputs", got, committed)
		}
	}
}

// checkOversizeOutput checks the outputs once every input was committed,
// under the policies skip and dead-letter.
func checkOversizeOutput(t *testing.T, c *embedded.Cluster, input []*kgo.Record, bigAt int, g strata.Guarantee, policy topology.BadRecordPolicy) {
	t.Helper()
	exact := g == strata.ExactlyOnce
	mapped := readAll(t, c, "mapped")
	perValue := map[string]int{}
	for _, r := range mapped {
		if len(r.Value) > 1<<20 {
			t.Fatalf("an oversized record reached %q", "mapped")
		}
		perValue[string(r.Key)]++
	}
	want := map[string]int{}
	model := map[string]int64{}
	for i, r := range input {
		if i != bigAt {
			want[string(r.Key)]++
		}
		// Under at-least-once the record's other effects stay (its
		// count); under exactly-once none does.
		if i != bigAt || !exact {
			model[string(r.Key)]++
		}
	}
	for k, w := range want {
		if got := perValue[k]; got < w || exact && got != w {
			t.Errorf("mapped: %d records of key %s, want %d", got, k, w)
		}
	}
	last := map[string]int64{}
	for _, r := range readAll(t, c, "counts") {
		last[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
	}
	for k, w := range model {
		if got := last[k]; got < w || exact && got != w {
			t.Errorf("count of %s is %d, want %d", k, got, w)
		}
	}
	dead := readAllIfExists(t, c, deadletter.DefaultTopic("oversize"))
	if policy != topology.BadRecordDeadLetter {
		if len(dead) != 0 {
			t.Errorf("%d dead-letter records under %s", len(dead), policy)
		}
		return
	}
	big := input[bigAt]
	if len(dead) < 1 || exact && len(dead) != 1 {
		t.Fatalf("%d dead-letter records, want 1", len(dead))
	}
	d, err := deadletter.Parse(dead[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Reason != deadletter.ReasonProduction || d.Topic != "in" || d.Partition != big.Partition || d.Offset != big.Offset ||
		string(d.Key) != string(big.Key) || string(d.Value) != "big" {
		t.Errorf("dead-letter record %+v, want the input record in[%d]@%d with reason %q", d, big.Partition, big.Offset, deadletter.ReasonProduction)
	}
	if !strings.Contains(d.Message, "MESSAGE_TOO_LARGE") {
		t.Errorf("dead-letter message %q does not say the record was too large", d.Message)
	}
}

// readAllIfExists reads topic like readAll, or returns nothing when it does
// not exist.
func readAllIfExists(t *testing.T, c *embedded.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := testContext()
	defer cancel()
	details, err := c.Admin().ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := details[topic]; !ok || d.Err != nil {
		return nil
	}
	return readAll(t, c, topic)
}

// committedOffsets returns group's committed offsets of topic by partition.
func committedOffsets(t *testing.T, c *embedded.Cluster, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := testContext()
	defer cancel()
	offsets, err := c.Admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, o := range offsets[topic] {
		out[p] = o.At
	}
	return out
}
