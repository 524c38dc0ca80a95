package testutil

import (
	"testing"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// TestSettleWithoutHeldRecordsDoesNotAllocate checks that settling after a
// record no processor held is free: the driver settles after every record,
// and a timer made each time was most of a stateless pipeline's allocations.
func TestSettleWithoutHeldRecordsDoesNotAllocate(t *testing.T) {
	b := topology.NewBuilder()
	kstream.From(b, "in", serde.String(), serde.String()).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := NewDriver(t, top, Config{})
	NewInputTopic(d, "in", serde.String(), serde.String()).Pipe("k", "v")
	if n := testing.AllocsPerRun(100, func() {
		if err := d.settle(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("settle with nothing held: %v allocations, want 0", n)
	}
}
