package ktable_test

import (
	"errors"
	"testing"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// lookupGlobal answers each stream record with the row of its value in the
// global store, read without being connected to it, and tries to write it.
type lookupGlobal struct {
	ctx   topology.Context[string, string]
	store string
	rows  state.KeyValueStore[string, state.Timestamped[string]]
}

func (p *lookupGlobal) Init(ctx topology.Context[string, string]) error {
	p.ctx = ctx
	var err error
	p.rows, err = state.LookupKeyValue[string, state.Timestamped[string]](ctx, p.store)
	return err
}

func (p *lookupGlobal) Process(r topology.Record[string, string]) error {
	if r.Value == "write" {
		err := p.rows.Put("x", state.Timestamped[string]{Value: "y"})
		if !errors.Is(err, state.ErrReadOnly) {
			return errors.New("a write to the global store did not fail with ErrReadOnly")
		}
		return p.ctx.Forward(topology.WithValue(r, "read-only"))
	}
	row, ok, err := p.rows.Get(r.Value)
	if err != nil || !ok {
		return errors.Join(err, p.ctx.Forward(topology.WithValue(r, "none")))
	}
	return p.ctx.Forward(topology.WithValue(r, row.Value+"@"+row.Timestamp.UTC().Format("15:04:05")))
}

func (p *lookupGlobal) Close() error { return nil }

// A global table's store holds every row of its topic, all partitions, in one
// store: a record updates its row, a tombstone deletes it and a null key is
// dropped. Processors of every task read it through the normal lookup, read
// only; the driver applies a global update before the next record.
func TestGlobalTable(t *testing.T) {
	b := topology.NewBuilder()
	g := ktable.Global(b, "users", serde.String(), serde.String(), ktable.Named("users"))
	if g.StoreName() != "users" {
		t.Fatalf("StoreName() = %q, want users", g.StoreName())
	}
	kstream.Process(kstream.From(b, "lookups", serde.String(), serde.String()),
		func() topology.Processor[string, string, string, string] { return &lookupGlobal{store: g.StoreName()} },
	).To("out", kstream.WithSerdes(serde.String(), serde.String()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{Partitions: map[string]int{"users": 3, "lookups": 2}})
	users := testutil.NewInputTopic(d, "users", serde.Ptr(serde.String()), serde.Ptr(serde.String()))
	lookups := testutil.NewInputTopic(d, "lookups", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	str := func(s string) *string { return &s }
	at := func(sec int) time.Time { return time.Unix(int64(sec), 0) }

	users.PipeAt(str("ann"), str("Ann"), at(1))
	users.PipeAt(str("bob"), str("Bob"), at(2))
	users.PipeAt(str("cid"), str("Cid"), at(3))
	users.PipeAt(nil, str("nobody"), at(4)) // dropped
	users.PipeAt(str("bob"), nil, at(5))    // deletes bob
	users.PipeAt(str("ann"), str("Anne"), at(6))
	if n := d.DroppedRecords(); n != 1 {
		t.Errorf("DroppedRecords() = %d, want 1 (the null key)", n)
	}

	view := testutil.KeyValueStore[string, string](d, "users")
	all := view.All()
	want := []testutil.KeyValue[string, string]{testutil.KV("ann", "Anne"), testutil.KV("cid", "Cid")}
	if len(all) != len(want) {
		t.Fatalf("store holds %v, want %v", all, want)
	}
	for i, kv := range all {
		if kv.Key != want[i].Key || kv.Value != want[i].Value {
			t.Errorf("store entry %d = %v, want %v", i, kv, want[i])
		}
	}
	if _, ok := view.Get("bob"); ok {
		t.Error("bob is still in the store after its tombstone")
	}

	// Keys land in both lookup partitions, and so in both tasks: each
	// reads every row.
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		lookups.Pipe(k, "ann")
		lookups.Pipe(k, "bob")
		lookups.Pipe(k, "cid")
	}
	lookups.Pipe("k1", "write")
	got := out.ReadValues()
	wantOut := []string{}
	for range 4 {
		wantOut = append(wantOut, "Anne@00:00:06", "none", "Cid@00:00:03")
	}
	wantOut = append(wantOut, "read-only")
	if len(got) != len(wantOut) {
		t.Fatalf("lookups answered %q, want %q", got, wantOut)
	}
	for i := range got {
		if got[i] != wantOut[i] {
			t.Errorf("answer %d = %q, want %q", i, got[i], wantOut[i])
		}
	}
}

// Under the dead-letter policy, a global topic's bad record is skipped, not
// written to the dead-letter topic: a global store is updated outside the
// tasks' transactions.
func TestGlobalTableDeadLetterPolicySkips(t *testing.T) {
	b := topology.NewBuilder()
	g := ktable.Global(b, "rates", serde.String(), serde.Int64(), ktable.Named("rates"))
	kstream.From(b, "in", serde.String(), serde.String()).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{OnBadRecord: topology.BadRecordDeadLetter})
	rates := testutil.NewInputTopic(d, "rates", serde.String(), serde.Int64())
	dead := testutil.NewOutputTopic(d, "test-dead-letter", serde.String(), serde.Bytes())
	rates.Pipe("eur", 100)
	if err := rates.PipeRaw([]byte("usd"), []byte{1}, time.Unix(1, 0)); err != nil {
		t.Fatalf("PipeRaw into a global topic under the dead-letter policy: %v", err)
	}
	rates.Pipe("gbp", 120)
	if n := dead.Len(); n != 0 {
		t.Errorf("%d dead-letter records of the global topic, want 0", n)
	}
	if n := d.SkippedRecords(); n != 1 {
		t.Errorf("SkippedRecords() = %d, want 1", n)
	}
	view := testutil.KeyValueStore[string, int64](d, g.StoreName())
	if got := view.All(); len(got) != 2 || got[0].Key != "eur" || got[1].Key != "gbp" {
		t.Errorf("global store holds %v, want eur and gbp", got)
	}
}
