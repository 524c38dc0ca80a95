package strata_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/topology"
)

// TestAppDeadSet runs an app whose bad records go to its dead set, and
// works the dead set through App.DeadSet while the app runs: a record of
// the bad-record policy names no handler, so its replay is refused unless
// to its source topic; replayed there, the app fails it again and it comes
// back to the dead set as a new record, the old one gone; a delete empties
// the dead set.
func TestAppDeadSet(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in"}, {Name: "out"}}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	cfg := testConfig(t, c, "ds")
	cfg.OnBadRecord = topology.BadRecordDeadLetter
	app := copyInt64s(t, cfg)
	r := start(t, app)
	defer r.stopAndWait(t)
	if err := c.Produce(ctx, &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("not a number")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consume(ctx, "ds-dead-letter", 1); err != nil {
		t.Fatal(err)
	}
	ds, err := app.DeadSet()
	if err != nil {
		t.Fatal(err)
	}
	page, err := ds.List(ctx, deadletter.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 {
		t.Fatalf("dead set holds %d records, want 1", len(page.Records))
	}
	d := page.Records[0]
	if d.Version != deadletter.Version || d.Reason != deadletter.ReasonDeserialization || d.Topic != "in" || d.Offset != 0 || d.Handler != "" {
		t.Errorf("dead-set record %+v, want in[0]@0's, of the bad-record policy", d)
	}
	if _, err := ds.Replay(ctx, deadletter.Selection{All: true}); !errors.Is(err, deadletter.ErrNoHandler) {
		t.Fatalf("Replay without a handler = %v, want ErrNoHandler", err)
	}
	if res, err := ds.Replay(ctx, deadletter.Selection{All: true, ToSource: true}); err != nil || res.Count != 1 {
		t.Fatalf("Replay to source = %+v, %v", res, err)
	}
	// in[0]@1 is the replay; the app fails it again.
	if _, err := c.Consume(ctx, "ds-dead-letter", 2); err != nil {
		t.Fatal(err)
	}
	page, err = ds.List(ctx, deadletter.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].Offset != 1 || string(page.Records[0].Value) != "not a number" {
		t.Fatalf("after the replay the dead set holds %+v, want in[0]@1's record only", page.Records)
	}
	if res, err := ds.Delete(ctx, deadletter.Selection{Filter: deadletter.Filter{Topic: "in"}}); err != nil || res.Count != 1 {
		t.Fatalf("Delete = %+v, %v", res, err)
	}
	if page, err := ds.List(ctx, deadletter.Query{}); err != nil || len(page.Records) != 0 {
		t.Errorf("after the delete: %+v, %v", page.Records, err)
	}
}
