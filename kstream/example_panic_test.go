package kstream_test

import (
	"errors"
	"fmt"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// A panic in user code is recovered per record. Under the default
// processing-error policy, fail, processing stops with a
// *topology.PanicError naming the processor and the record; under skip, the
// record is logged (with the panic's stack), counted and skipped, and the
// next records are processed.
func ExampleMapValues_panic() {
	b := topology.NewBuilder()
	orders := kstream.From(b, "orders", serde.String(), serde.String())
	kstream.MapValues(orders, func(_, v string) string {
		return v[:3] // panics on values shorter than 3 bytes
	}, kstream.Named("prefix")).To("prefixes")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // fail
	err = testutil.NewInputTopic(d, "orders", serde.String(), serde.String()).TryPipe("o1", "x")
	var pe *topology.PanicError
	fmt.Println(errors.As(err, &pe), pe.Node, errors.Is(err, topology.ErrPanic))
	fmt.Println(err)

	d = testutil.NewDriver(exampleT{}, top, testutil.Config{OnProcessingError: topology.BadRecordSkip})
	in := testutil.NewInputTopic(d, "orders", serde.String(), serde.String())
	in.PipeKeyValues(testutil.KV("o1", "tea-42"), testutil.KV("o2", "x"), testutil.KV("o3", "jam-7"))
	for _, kv := range testutil.NewOutputTopic(d, "prefixes", serde.String(), serde.String()).ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	fmt.Println("failed:", d.FailedRecords())
	// Output:
	// true prefix true
	// task 0_0: processor "prefix" panicked on orders[0]@0: runtime error: slice bounds out of range [:3] with length 1
	// o1 tea
	// o3 jam
	// failed: 1
}
