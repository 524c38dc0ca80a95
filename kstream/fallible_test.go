package kstream_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// fallibleTopologies are the error-returning operations, each failing on
// the value "x" (not a number) and writing what they forward to "out".
var fallibleTopologies = map[string]func(s kstream.Stream[string, string]){
	"MapValuesErr": func(s kstream.Stream[string, string]) {
		kstream.MapValuesErr(s, func(_, v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }, kstream.Named("op")).
			To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	},
	"FlatMapValuesErr": func(s kstream.Stream[string, string]) {
		kstream.FlatMapValuesErr(s, func(_, v string) ([]int64, error) {
			n, err := strconv.ParseInt(v, 10, 64)
			return []int64{n, n}, err // values returned with an error are not forwarded
		}, kstream.Named("op")).To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	},
	"FilterErr": func(s kstream.Stream[string, string]) {
		kstream.MapValues(s.FilterErr(func(_, v string) (bool, error) {
			n, err := strconv.ParseInt(v, 10, 64)
			return n > 0, err
		}, kstream.Named("op")), func(_, v string) int64 { n, _ := strconv.ParseInt(v, 10, 64); return n }).
			To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	},
}

// An error of the function is the record's processing error: the policy
// fail stops with it, naming the node; skip and dead-letter go on, the
// latter with the record in the dead-letter topic.
func TestFallibleOperations(t *testing.T) {
	for op, add := range fallibleTopologies {
		for _, policy := range []topology.BadRecordPolicy{topology.BadRecordFail, topology.BadRecordSkip, topology.BadRecordDeadLetter} {
			t.Run(op+"/"+policy.String(), func(t *testing.T) {
				b := topology.NewBuilder()
				add(kstream.From(b, "in", serde.String(), serde.String()))
				d := testutil.NewDriver(t, build(t, b), testutil.Config{OnProcessingError: policy})
				in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
				out := testutil.NewOutputTopic(d, "out", serde.String(), serde.Int64())
				in.Pipe("k", "1")
				err := in.TryPipe("k", "x")
				if policy == topology.BadRecordFail {
					var ne *topology.NodeError
					var pe *topology.ProcessingError
					var numErr *strconv.NumError
					if !errors.As(err, &ne) || ne.Node != "op" || !errors.As(err, &pe) || !errors.As(err, &numErr) {
						t.Fatalf("err = %v, want the parse error as node op's processing error", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				in.Pipe("k", "2")
				var got []string
				for _, v := range out.ReadValues() {
					got = append(got, strconv.FormatInt(v, 10))
				}
				want := "1,2"
				if op == "FlatMapValuesErr" {
					want = "1,1,2,2"
				}
				if strings.Join(got, ",") != want {
					t.Fatalf("output %q, want %s", got, want)
				}
				if d.FailedRecords() != 1 {
					t.Fatalf("FailedRecords = %d, want 1", d.FailedRecords())
				}
				if policy == topology.BadRecordSkip {
					if got := d.ProducedTopics(); len(got) != 1 {
						t.Fatalf("topics written under skip: %q, want out only", got)
					}
					return
				}
				r := testutil.NewOutputTopic(d, "test-dead-letter", serde.String(), serde.String()).ReadRecord()
				reason := ""
				for _, h := range r.Headers {
					if h.Key == deadletter.HeaderException {
						reason = string(h.Value)
					}
				}
				if r.Value != "x" || reason != deadletter.ReasonProcessing {
					t.Fatalf("dead letter %+v, want x for processing", r)
				}
			})
		}
	}
}

func TestFallibleNilFunctions(t *testing.T) {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.MapValuesErr[string, string, int](s, nil, kstream.Named("m"))
	kstream.FlatMapValuesErr[string, string, int](s, nil, kstream.Named("f"))
	s.FilterErr(nil, kstream.Named("p"))
	buildErr(t, b, `MapValuesErr "m": nil function`, `FlatMapValuesErr "f": nil function`, `FilterErr "p": nil predicate`)
}
