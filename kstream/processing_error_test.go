package kstream_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// echoThenFail forwards each record as "<value>!" and then, for the value
// "boom", fails with errBoom: its partial output is out before the error.
type echoThenFail struct {
	ctx topology.Context[string, string]
}

func (p *echoThenFail) Init(ctx topology.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *echoThenFail) Close() error                                    { return nil }
func (p *echoThenFail) Process(r topology.Record[string, string]) error {
	if err := p.ctx.Forward(topology.WithValue(r, r.Value+"!")); err != nil {
		return err
	}
	if r.Value == "boom" {
		return errBoom
	}
	return nil
}

// failingTopology reads "in", runs echoThenFail as node "echo" and writes
// "out" with valueSerde.
func failingTopology(t *testing.T, valueSerde serde.Serde[string]) *topology.Topology {
	b := topology.NewBuilder()
	s := kstream.From(b, "in", serde.String(), serde.String())
	kstream.Process(s, func() topology.Processor[string, string, string, string] { return &echoThenFail{} }, kstream.Named("echo")).
		To("out", kstream.WithSerdes(serde.String(), valueSerde))
	return build(t, b)
}

func TestProcessingErrorFail(t *testing.T) {
	d := testutil.NewDriver(t, failingTopology(t, serde.String()), testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	err := in.TryPipe("k", "boom")
	var ne *topology.NodeError
	var pe *topology.ProcessingError
	if !errors.As(err, &ne) || ne.Node != "echo" || !errors.As(err, &pe) || !errors.Is(err, errBoom) {
		t.Fatalf("TryPipe = %v; want a ProcessingError of node echo wrapping errBoom", err)
	}
}

func TestProcessingErrorSkip(t *testing.T) {
	d := testutil.NewDriver(t, failingTopology(t, serde.String()), testutil.Config{OnProcessingError: topology.BadRecordSkip})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	for _, v := range []string{"a", "boom", "b"} {
		if err := in.TryPipe("k", v); err != nil {
			t.Fatalf("TryPipe(%q) with OnProcessingError skip: %v", v, err)
		}
	}
	// The failed record's output before its failure stays.
	expectKVs(t, out, testutil.KV("k", "a!"), testutil.KV("k", "boom!"), testutil.KV("k", "b!"))
	if n := d.FailedRecords(); n != 1 {
		t.Errorf("FailedRecords() = %d, want 1", n)
	}
}

func TestProcessingErrorDeadLetter(t *testing.T) {
	d := testutil.NewDriver(t, failingTopology(t, serde.String()), testutil.Config{OnProcessingError: topology.BadRecordDeadLetter})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	dead := testutil.NewOutputTopic(d, "test-dead-letter", serde.String(), serde.String())
	in.Pipe("k", "a")
	in.Pipe("k", "boom")
	r, headers := onlyDeadLetter(t, dead)
	if r.Key != "k" || r.Value != "boom" || headers[deadletter.HeaderException] != deadletter.ReasonProcessing ||
		headers[deadletter.HeaderOffset] != "1" || !strings.Contains(headers[deadletter.HeaderMessage], `node "echo": boom`) {
		t.Errorf("dead letter %s=%s with headers %v; want k=boom, reason processing, offset 1, the node's error", r.Key, r.Value, headers)
	}
	if n := d.FailedRecords(); n != 1 {
		t.Errorf("FailedRecords() = %d, want 1", n)
	}
}

// An error downstream of a processor, here the sink's serializer, is not the
// processor's: the policy does not apply, and processing stops.
func TestProcessingErrorPolicyIgnoresDownstreamErrors(t *testing.T) {
	failing := serde.Func(func(dst []byte, _ string, v string) ([]byte, error) {
		if v == "bad!" {
			return nil, errBoom
		}
		return append(dst, v...), nil
	}, func(_ string, data []byte) (string, error) { return string(data), nil })
	d := testutil.NewDriver(t, failingTopology(t, failing), testutil.Config{OnProcessingError: topology.BadRecordSkip})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.String())
	err := in.TryPipe("k", "bad")
	var pe *topology.ProcessingError
	if err == nil || errors.As(err, &pe) || !errors.Is(err, errBoom) {
		t.Fatalf("TryPipe = %v; want the sink's error, not a ProcessingError", err)
	}
}

// onlyDeadLetter reads the one record of dead and its headers by key.
func onlyDeadLetter[V any](t *testing.T, dead *testutil.OutputTopic[string, V]) (testutil.Record[string, V], map[string]string) {
	t.Helper()
	if dead.Len() != 1 {
		t.Fatalf("%d dead-letter records, want 1", dead.Len())
	}
	r := dead.ReadRecord()
	headers := map[string]string{}
	for _, h := range r.Headers {
		headers[h.Key] = string(h.Value)
	}
	return r, headers
}
