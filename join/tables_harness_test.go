package join_test

// A harness replaying Kafka Streams' published join test sequences through
// the test driver: each step pipes one record (a value "null" pipes a
// tombstone) and lists the output records it must cause, as
// "key:value@ms" with a tombstone's value printed as null.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

type joinStep struct {
	topic string
	key   int32
	value string // "null" pipes a tombstone
	ts    int64
	want  []string
}

// replay runs steps through a driver of top, reading "out".
func replaySteps(t *testing.T, top *topology.Topology, steps []joinStep) *testutil.Driver {
	t.Helper()
	d := testutil.NewDriver(t, top, testutil.Config{})
	ins := map[string]*testutil.InputTopic[int32, string]{}
	out := testutil.NewOutputTopic(d, "out", serde.Int32(), serde.String())
	for i, s := range steps {
		in := ins[s.topic]
		if in == nil {
			in = testutil.NewInputTopic(d, s.topic, serde.Int32(), serde.String())
			ins[s.topic] = in
		}
		r := topology.Record[int32, string]{Key: s.key, Value: s.value, Timestamp: time.UnixMilli(s.ts)}
		if s.value == "null" {
			r = topology.Tombstone(r)
		}
		in.PipeRecords(r)
		if got := readOutputs(out); !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%s %d=%s @%d):\n got %q\nwant %q", i, s.topic, s.key, s.value, s.ts, got, s.want)
		}
	}
	return d
}

// outputs reads what out received since the last read.
func readOutputs[K, V any](out *testutil.OutputTopic[K, V]) []string {
	var got []string
	for _, r := range out.ReadAll() {
		v := fmt.Sprint(r.Value)
		if r.NullValue {
			v = "null"
		}
		got = append(got, fmt.Sprintf("%v:%s@%d", r.Key, v, r.Timestamp.UnixMilli()))
	}
	return got
}

func mustTopology(t *testing.T, b *topology.Builder) *topology.Topology {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// concatJoiner is Kafka's MockValueJoiner.TOSTRING_JOINER: "left+right".
func concatJoiner(_ int32, l, r string) string { return l + "+" + r }

// outs lists outputs.
func wantOuts(s ...string) []string { return s }

// driverFailure returns what testutil.NewDriver reports for top with cfg,
// or "" when it starts.
func driverFailure(t *testing.T, top *topology.Topology, cfg testutil.Config) string {
	t.Helper()
	return testkit.Failure(t, func(tb testing.TB) { testutil.NewDriver(tb, top, cfg) })
}
