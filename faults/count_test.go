package faults_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The counting scenario: records of "in" (3 partitions) are counted per key
// into the store "counts", and every new count goes to "out". With the
// record cache off each input record makes one output record, so the
// counts of a key read from "out" are 1, 2, 3, ...: a model checks them
// exactly under exactly-once, and for losses under at-least-once.

// countTopics are the topics of the counting scenario.
func countTopics() []embedded.Topic {
	return []embedded.Topic{{Name: "in", Partitions: 3}, {Name: "out", Partitions: 3}}
}

// countTopology counts "in" per key into "out"; each, if set, is called
// with every record before it is counted.
func countTopology(t *testing.T, each func(key string)) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	in := kstream.From(b, "in", serde.String(), serde.String())
	if each != nil {
		in = in.Peek(func(k, _ string) { each(k) })
	}
	ktable.GroupByKey(in).Count(ktable.Named("counts")).ToStream().
		To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// countModel is how many records of each key were produced.
type countModel map[string]int64

func (m countModel) add(recs []*kgo.Record) {
	for _, r := range recs {
		m[string(r.Key)]++
	}
}

// checkCounts reads "out" and checks it against the model: under
// exactly-once each key's counts are exactly 1..n, in order; under
// at-least-once there are at least n counts of the key, reaching at least n
// (nothing lost). Duplicates under at-least-once are logged.
func checkCounts(t *testing.T, c *embedded.Cluster, model countModel, g strata.Guarantee) {
	t.Helper()
	seqs := map[string][]int64{}
	for _, r := range readAll(t, c, "out") {
		seqs[string(r.Key)] = append(seqs[string(r.Key)], int64(binary.BigEndian.Uint64(r.Value)))
	}
	dups := 0
	for k, n := range model {
		seq := seqs[k]
		if g == strata.ExactlyOnce {
			ok := int64(len(seq)) == n
			for i := 0; ok && i < len(seq); i++ {
				ok = seq[i] == int64(i+1)
			}
			if !ok {
				t.Errorf("key %s: counts %s, want 1..%d once each", k, brief(seq), n)
			}
			continue
		}
		// Each input was counted, and made an output, at least once.
		// Counts may jump: an input counted in the state whose output
		// or offset commit did not get through is counted again.
		if int64(len(seq)) < n || slices.Max(append(seq, 0)) < n {
			t.Errorf("key %s: counts %s, want at least %d outputs reaching %d: an input was lost", k, brief(seq), n, n)
		}
		dups += len(seq) - int(n)
	}
	if dups > 0 {
		t.Logf("at-least-once: %d duplicate outputs", dups)
	}
}

// brief formats a count sequence, eliding the middle of a long one.
func brief(seq []int64) string {
	if len(seq) <= 12 {
		return fmt.Sprint(seq)
	}
	return fmt.Sprintf("%v ... %v (%d counts)", seq[:6], seq[len(seq)-6:], len(seq))
}

// groupTimeouts are client options that keep a test's group operations
// short: a member that stops heartbeating is expired after 6s (kfake's
// minimum), a rebalance waits at most 10s for members to rejoin.
func groupTimeouts() []kgo.Opt {
	return []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.RebalanceTimeout(10 * time.Second)}
}
