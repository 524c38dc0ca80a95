package kstream_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// exampleT stands in for the *testing.T that a test passes to
// testutil.NewDriver, so that the examples can run the driver.
type exampleT = testkit.T

// Filter and MapValues: keep non-empty greetings and shout them.
func ExampleMapValues() {
	b := topology.NewBuilder()
	greetings := kstream.From(b, "greetings", serde.String(), serde.String())
	nonEmpty := greetings.Filter(func(_, v string) bool { return v != "" })
	kstream.MapValues(nonEmpty, func(_, v string) string { return strings.ToUpper(v) + "!" }).To("shouts")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "greetings", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "shouts", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("ann", "hello"), testutil.KV("bob", ""), testutil.KV("cy", "hi"))
	for _, kv := range out.ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	// Output:
	// ann HELLO!
	// cy HI!
}

// Split routes each record to the first branch whose predicate it matches:
// 150 is both large and even, and goes to "large" only.
func ExampleStream_Split() {
	b := topology.NewBuilder()
	amounts := kstream.From(b, "amounts", serde.String(), serde.Int64())
	branches := amounts.Split(kstream.Named("route")).
		Branch("large", func(_ string, v int64) bool { return v >= 100 }).
		Branch("even", func(_ string, v int64) bool { return v%2 == 0 }).
		Default("other")
	branches["large"].To("large")
	branches["even"].To("even")
	branches["other"].To("other")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "amounts", serde.String(), serde.Int64())
	in.PipeKeyValues(testutil.KV("a", int64(150)), testutil.KV("b", int64(42)), testutil.KV("c", int64(7)), testutil.KV("d", int64(300)))
	for _, name := range []string{"large", "even", "other"} {
		out := testutil.NewOutputTopic(d, name, serde.String(), serde.Int64())
		fmt.Println(name, out.ReadKeyValues())
	}
	// Output:
	// large [{a 150} {d 300}]
	// even [{b 42}]
	// other [{c 7}]
}

// FlatMap turns each sentence into one record per word, keyed by the word;
// a record may produce none.
func ExampleFlatMap() {
	b := topology.NewBuilder()
	sentences := kstream.From(b, "sentences", serde.String(), serde.String())
	words := kstream.FlatMap(sentences, func(doc, line string) []kstream.KeyValue[string, string] {
		var out []kstream.KeyValue[string, string]
		for _, w := range strings.Fields(line) {
			out = append(out, kstream.Pair(strings.ToLower(w), doc))
		}
		return out
	})
	words.To("words")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "sentences", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "words", serde.String(), serde.String())
	in.Pipe("doc1", "Hello Kafka")
	in.Pipe("doc2", "")
	in.Pipe("doc3", "hello Go")
	for _, kv := range out.ReadKeyValues() {
		fmt.Printf("%s <- %s\n", kv.Key, kv.Value)
	}
	// Output:
	// hello <- doc1
	// kafka <- doc1
	// hello <- doc3
	// go <- doc3
}

// Print writes each record as "[label]: key, value"; the label is the node's
// name.
func ExampleStream_Print() {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.Int64()).Print(os.Stdout, kstream.Named("debug"))
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{})
	in := testutil.NewInputTopic(d, "in", serde.String(), serde.Int64())
	in.Pipe("a", 1)
	in.Pipe("b", 2)
	// Output:
	// [debug]: a, 1
	// [debug]: b, 2
}

// With the dead-letter policy, a record whose value does not decode is
// written, as read, to the dead-letter topic, with headers saying where it
// came from and why; the others are processed.
func ExampleFrom_deadLetter() {
	b := topology.NewBuilder()
	kstream.From(b, "readings", serde.String(), serde.Int64()).To("copies")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d := testutil.NewDriver(exampleT{}, top, testutil.Config{ApplicationID: "meter", OnBadRecord: topology.BadRecordDeadLetter})
	in := testutil.NewInputTopic(d, "readings", serde.String(), serde.Int64())
	in.Pipe("m1", 42)
	if err := in.PipeRaw([]byte("m2"), []byte("forty-two"), time.UnixMilli(0)); err != nil {
		panic(err)
	}
	for _, kv := range testutil.NewOutputTopic(d, "copies", serde.String(), serde.Int64()).ReadKeyValues() {
		fmt.Println("copied", kv.Key, kv.Value)
	}
	for _, r := range testutil.NewOutputTopic(d, "meter-dead-letter", serde.String(), serde.String()).ReadAll() {
		fmt.Printf("dead letter %s=%s\n", r.Key, r.Value)
		for _, h := range r.Headers {
			fmt.Printf("  %s: %s\n", h.Key, h.Value)
		}
	}
	// Output:
	// copied m1 42
	// dead letter m2=forty-two
	//   __streams.errors.exception: deserialization
	//   __streams.errors.message: bad record at readings[0]@1: value: serde: invalid length: int64 needs 8 bytes, got 9
	//   __streams.errors.topic: readings
	//   __streams.errors.partition: 0
	//   __streams.errors.offset: 1
	//   strata.deadletter.version: 2
}

// parsePrice forwards the price in cents of a value such as "12.50", and
// fails values it cannot parse.
type parsePrice struct {
	ctx topology.Context[string, int64]
}

func (p *parsePrice) Init(ctx topology.Context[string, int64]) error { p.ctx = ctx; return nil }
func (p *parsePrice) Close() error                                   { return nil }
func (p *parsePrice) Process(r topology.Record[string, string]) error {
	var units, cents int64
	if _, err := fmt.Sscanf(r.Value, "%d.%02d", &units, &cents); err != nil {
		return fmt.Errorf("parse price %q: %w", r.Value, err)
	}
	return p.ctx.Forward(topology.WithValue(r, units*100+cents))
}

// With OnProcessingError set to dead-letter, a record the processor fails
// goes to the dead-letter topic, and the next records are processed.
func ExampleProcess_processingError() {
	b := topology.NewBuilder()
	prices := kstream.From(b, "prices", serde.String(), serde.String())
	kstream.Process(prices, func() topology.Processor[string, string, string, int64] { return &parsePrice{} }, kstream.Named("parse")).
		To("cents", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d := testutil.NewDriver(exampleT{}, top, testutil.Config{ApplicationID: "shop", OnProcessingError: topology.BadRecordDeadLetter})
	in := testutil.NewInputTopic(d, "prices", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("tea", "3.20"), testutil.KV("cake", "three"), testutil.KV("jam", "4.05"))
	for _, kv := range testutil.NewOutputTopic(d, "cents", serde.String(), serde.Int64()).ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	for _, r := range testutil.NewOutputTopic(d, "shop-dead-letter", serde.String(), serde.String()).ReadAll() {
		for _, h := range r.Headers {
			if h.Key == "__streams.errors.message" {
				fmt.Printf("dead letter %s=%s: %s\n", r.Key, r.Value, h.Value)
			}
		}
	}
	fmt.Println("failed:", d.FailedRecords())
	// Output:
	// tea 320
	// jam 405
	// dead letter cake=three: task 0_0: node "parse": parse price "three": expected integer
	// failed: 1
}
