package deadletter_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

func TestListPages(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)

	// A page of one record at a time: dlq[0] first, then dlq[1]; the
	// aborted c is not there.
	var got []deadletter.Record
	q := deadletter.Query{Count: 1}
	for i := range 4 {
		page, err := ds.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records) != 1 || page.More != (i < 3) {
			t.Fatalf("page %d: %d records, more %v; want 1, %v", i, len(page.Records), page.More, i < 3)
		}
		got = append(got, page.Records...)
		q.After = page.Next
	}
	if keys(got) != "a d b e" {
		t.Errorf("pages of 1 hold %q, want a d b e", keys(got))
	}
	if page, err := ds.List(t.Context(), q); err != nil || len(page.Records) != 0 || page.More {
		t.Errorf("page after the last = %d records, more %v, %v; want none", len(page.Records), page.More, err)
	}
	a, e := got[0], got[3]
	if want := dead(0, 3, "a", "pay"); a.Topic != "in" || a.Partition != 0 || a.Offset != 3 || a.Handler != "pay" || a.Attempts != 3 ||
		a.Version != deadletter.Version || a.Reason != deadletter.ReasonRetriesExhausted || string(a.Value) != "v3" ||
		!a.Timestamp.Equal(want.Timestamp) || fmt.Sprint(a.Headers) != fmt.Sprint(want.Headers) || a.DeadLetterPartition != 0 {
		t.Errorf("a = %+v", a)
	}
	if e.Version != 1 || e.Handler != "" || e.Partition != 1 || e.Offset != 11 || e.DeadLetterPartition != 1 {
		t.Errorf("e (version 1) = %+v", e)
	}

	for _, tc := range []struct {
		name string
		f    deadletter.Filter
		want string
	}{
		{"all", deadletter.Filter{}, "a d b e"},
		{"topic", deadletter.Filter{Topic: "in"}, "a d b e"},
		{"another topic", deadletter.Filter{Topic: "other"}, ""},
		{"key", deadletter.Filter{Key: []byte("a")}, "a"},
		{"reason", deadletter.Filter{Reason: deadletter.ReasonProcessing}, "e"},
		{"handler", deadletter.Filter{Handler: "pay"}, "a b"},
		{"since", deadletter.Filter{Since: time.UnixMilli(1009)}, "d e"},
		{"until", deadletter.Filter{Until: time.UnixMilli(1009)}, "a b"},
		{"since and until", deadletter.Filter{Since: time.UnixMilli(1005), Until: time.UnixMilli(1010)}, "d b"},
		{"handler and key", deadletter.Filter{Handler: "mail", Key: []byte("a")}, ""},
	} {
		if got := keys(listAll(t, ds, deadletter.Query{Filter: tc.f, Count: 1})); got != tc.want {
			t.Errorf("%s: listed %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestListRefusesBadQueries(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	first, err := ds.List(t.Context(), deadletter.Query{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	other := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "other-dlq", Partitions: 2}}})
	otherSet, err := deadletter.Open(deadletter.Config{ApplicationID: "x", Topic: "other-dlq", ClientOptions: []kgo.Opt{kgo.SeedBrokers(other.Addrs()...)}})
	if err != nil {
		t.Fatal(err)
	}
	otherPage, err := otherSet.List(t.Context(), deadletter.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    deadletter.Query
		want error
	}{
		{"negative count", deadletter.Query{Count: -1}, deadletter.ErrInvalidRequest},
		{"count too large", deadletter.Query{Count: deadletter.MaxCount + 1}, deadletter.ErrInvalidRequest},
		{"unknown topic", deadletter.Query{Filter: deadletter.Filter{Topic: "no-such-topic"}}, deadletter.ErrUnknownTopic},
		{"garbage cursor", deadletter.Query{After: "!!"}, deadletter.ErrBadCursor},
		{"truncated cursor", deadletter.Query{After: first.Next[:len(first.Next)-2]}, deadletter.ErrBadCursor},
		{"another dead set's cursor", deadletter.Query{After: otherPage.Next}, deadletter.ErrBadCursor},
		{"until before since", deadletter.Query{Filter: deadletter.Filter{Since: now, Until: now.Add(-time.Second)}}, deadletter.ErrInvalidRequest},
	} {
		if _, err := ds.List(t.Context(), tc.q); !errors.Is(err, tc.want) || !errors.Is(err, deadletter.ErrInvalidRequest) {
			t.Errorf("%s: List = %v, want %v", tc.name, err, tc.want)
		}
	}
	missing, err := deadletter.Open(deadletter.Config{ApplicationID: "y", ClientOptions: []kgo.Opt{kgo.SeedBrokers(c.Addrs()...)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.List(t.Context(), deadletter.Query{}); !errors.Is(err, deadletter.ErrNoDeadSet) {
		t.Errorf("List of a dead-letter topic that does not exist = %v, want ErrNoDeadSet", err)
	}
}

func TestListShowsRecordsItCannotRead(t *testing.T) {
	c := deadSetCluster(t)
	writeTxn(t, c, true, &kgo.Record{Topic: "dlq", Partition: 0, Key: []byte("junk"), Value: []byte("?")})
	ds := openDeadSet(t, c)
	all := listAll(t, ds, deadletter.Query{})
	if keys(all) != "a d junk b e" {
		t.Fatalf("listed %q, want a d junk b e", keys(all))
	}
	if junk := all[2]; !errors.Is(junk.Err, deadletter.ErrNotDeadLetter) || junk.DeadLetterPartition != 0 || string(junk.Value) != "?" {
		t.Errorf("junk = %+v, want it with ErrNotDeadLetter", junk)
	}
	if got := keys(listAll(t, ds, deadletter.Query{Filter: deadletter.Filter{Topic: "in"}})); got != "a d b e" {
		t.Errorf("filtered by topic: %q, want the dead-letter records only", got)
	}
	// A replay of everything refuses it; a delete of everything takes it.
	if _, err := ds.Replay(t.Context(), deadletter.Selection{All: true, ToSource: true}); !errors.Is(err, deadletter.ErrInvalidRequest) {
		t.Errorf("Replay of a record that is not a dead letter = %v, want ErrInvalidRequest", err)
	}
	if res, err := ds.Delete(t.Context(), deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: all[2].DeadLetterOffset}}); err != nil || res.Count != 1 {
		t.Errorf("Delete of the junk = %+v, %v", res, err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "a d b e" {
		t.Errorf("after deleting the junk: %q", got)
	}
}

func TestDelete(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	before := listAll(t, ds, deadletter.Query{})
	a, d := before[0], before[1]

	// Deleting d, after a in dlq[0], by its coordinates marks it deleted;
	// a stays where it is.
	res, err := ds.Delete(t.Context(), deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: d.DeadLetterOffset}})
	if err != nil || res != (deadletter.Result{Count: 1}) {
		t.Fatalf("Delete(d) = %+v, %v; want 1 deleted", res, err)
	}
	after := listAll(t, ds, deadletter.Query{})
	if keys(after) != "a b e" || fmt.Sprint(after[0]) != fmt.Sprint(a) {
		t.Fatalf("after deleting d: %q, a %+v", keys(after), after[0])
	}
	if _, err := ds.Delete(t.Context(), deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: d.DeadLetterOffset}}); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("Delete(d) again = %v, want ErrNotFound", err)
	}

	// A filtered delete keeps the records before the last one it selects
	// in their partition, writing them again after it: deleting e, b is
	// kept.
	res, err = ds.Delete(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Reason: deadletter.ReasonProcessing}})
	if err != nil || res != (deadletter.Result{Count: 1, Kept: 1}) {
		t.Fatalf("Delete(reason processing) = %+v, %v; want e deleted, b kept", res, err)
	}
	after = listAll(t, ds, deadletter.Query{})
	if keys(after) != "a b" {
		t.Fatalf("after deleting e: %q", keys(after))
	}
	b, moved := before[2], after[1]
	if moved.DeadLetterOffset <= before[3].DeadLetterOffset {
		t.Errorf("b kept at dlq[1]@%d, want after e's %d", moved.DeadLetterOffset, before[3].DeadLetterOffset)
	}
	moved.DeadLetterOffset = b.DeadLetterOffset
	if fmt.Sprint(moved) != fmt.Sprint(b) {
		t.Errorf("b kept as\n%+v\nwant\n%+v", moved, b)
	}
	writeTxn(t, c, true, deadletter.Encode("dlq", 2, dead(1, 12, "e", "")))

	// A filtered delete; run again, it finds nothing. (d, marked deleted,
	// is neither selected nor kept.)
	if res, err := ds.Delete(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}}); err != nil || res != (deadletter.Result{Count: 2}) {
		t.Errorf("Delete(handler pay) = %+v, %v; want 2 deleted", res, err)
	}
	if res, err := ds.Delete(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}}); err != nil || res.Count != 0 {
		t.Errorf("Delete(handler pay) again = %+v, %v; want none", res, err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "e" {
		t.Errorf("after deleting pay's: %q", got)
	}

	// Before a cursor: a record that came after the page is left alone.
	page, err := ds.List(t.Context(), deadletter.Query{})
	if err != nil {
		t.Fatal(err)
	}
	writeTxn(t, c, true, deadletter.Encode("dlq", 2, dead(1, 20, "f", "pay")))
	if res, err := ds.Delete(t.Context(), deadletter.Selection{Before: page.Next, DryRun: true}); err != nil || res != (deadletter.Result{Count: 1, DryRun: true}) {
		t.Errorf("dry run = %+v, %v", res, err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "e f" {
		t.Errorf("after a dry run: %q, want e f", got)
	}
	if res, err := ds.Delete(t.Context(), deadletter.Selection{Before: page.Next}); err != nil || res.Count != 1 {
		t.Errorf("Delete(before) = %+v, %v", res, err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "f" {
		t.Errorf("after deleting before the cursor: %q, want f", got)
	}

	if _, err := ds.Delete(t.Context(), deadletter.Selection{}); !errors.Is(err, deadletter.ErrInvalidRequest) {
		t.Errorf("Delete of an empty selection = %v, want ErrInvalidRequest", err)
	}
	// Deleting everything moves dlq[0]'s position past d, whose mark is
	// forgotten (a tombstone, for compaction).
	writeTxn(t, c, true, deadletter.Encode("dlq", 2, dead(0, 50, "g", "pay")))
	if res, err := ds.Delete(t.Context(), deadletter.Selection{All: true}); err != nil || res.Count != 2 {
		t.Errorf("Delete(all) = %+v, %v; want f and g", res, err)
	}
	if got := listAll(t, ds, deadletter.Query{}); len(got) != 0 {
		t.Errorf("after deleting all: %q", keys(got))
	}
	marks := map[string][]byte{}
	for _, r := range readCommitted(t, c, "app-dead-set-positions") {
		marks[string(r.Key)] = r.Value
	}
	if v, ok := marks[fmt.Sprintf("dlq/0@%d", d.DeadLetterOffset)]; !ok || v != nil {
		t.Errorf("d's mark is %q (there: %v), want a tombstone; positions: %q", v, ok, marks)
	}
	// The dead-letter topic keeps its records.
	if n := len(readCommitted(t, c, "dlq")); n != 8 {
		t.Errorf("dlq holds %d records, want 8 (a, b, d, e, b kept, e again, f, g)", n)
	}
}

func TestDeleteCount(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	// The first three records from "in", in List's order: a, d and b.
	res, err := ds.Delete(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Topic: "in"}, Count: 3})
	if err != nil || res.Count != 3 {
		t.Fatalf("Delete(count 3) = %+v, %v", res, err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "e" {
		t.Errorf("after deleting the first 3: %q, want e", got)
	}
}
