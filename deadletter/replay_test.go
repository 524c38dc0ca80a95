package deadletter_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-go/strata/deadletter"
)

// checkRetryRecord checks that r is d's replay into its handler's retry
// topic: d's key, value, timestamp and own headers, attempt 0, due now, d's
// error and source coordinates, in d's source partition.
func checkRetryRecord(t *testing.T, r *kgo.Record, d deadletter.Record) {
	t.Helper()
	var own []kgo.RecordHeader
	for _, h := range r.Headers {
		if h.Key == "trace" {
			own = append(own, h)
		}
	}
	if string(r.Key) != string(d.Key) || string(r.Value) != string(d.Value) || !r.Timestamp.Equal(d.Timestamp) ||
		fmt.Sprint(own) != fmt.Sprint(d.Headers) || r.Partition != d.Partition ||
		header(r, "strata.retry.attempt") != "0" || header(r, "strata.retry.due") != strconv.FormatInt(now.UnixMilli(), 10) ||
		header(r, "strata.retry.error") != d.Message || header(r, deadletter.HeaderTopic) != d.Topic ||
		header(r, deadletter.HeaderPartition) != fmt.Sprint(d.Partition) || header(r, deadletter.HeaderOffset) != fmt.Sprint(d.Offset) {
		t.Errorf("retry record %s[%d] %s=%s %v headers %v; want the replay of %+v", r.Topic, r.Partition, r.Key, r.Value, r.Timestamp, r.Headers, d)
	}
}

func TestReplay(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	all := listAll(t, ds, deadletter.Query{})
	a, d, b, e := all[0], all[1], all[2], all[3]

	res, err := ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}})
	if err != nil || res != (deadletter.Result{Count: 2}) {
		t.Fatalf("Replay(handler pay) = %+v, %v; want 2 replayed", res, err)
	}
	retried := readCommitted(t, c, "app-pay-retry")
	if len(retried) != 2 {
		t.Fatalf("app-pay-retry holds %d records, want 2", len(retried))
	}
	checkRetryRecord(t, retried[0], a)
	checkRetryRecord(t, retried[1], b)
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "d e" {
		t.Errorf("dead set after the replay: %q, want d e", got)
	}
	// Run again, the replay finds nothing to replay.
	if res, err := ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}}); err != nil || res.Count != 0 {
		t.Errorf("Replay(handler pay) again = %+v, %v; want nothing", res, err)
	}

	// One record by its coordinates.
	if res, err := ds.Replay(t.Context(), deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: d.DeadLetterOffset}}); err != nil || res.Count != 1 {
		t.Fatalf("Replay(d) = %+v, %v", res, err)
	}
	mail := readCommitted(t, c, "app-mail-retry")
	if len(mail) != 1 {
		t.Fatalf("app-mail-retry holds %d records, want 1", len(mail))
	}
	checkRetryRecord(t, mail[0], d)
	if _, err := ds.Replay(t.Context(), deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: d.DeadLetterOffset}}); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("Replay(d) again = %v, want ErrNotFound", err)
	}

	// e names no handler: refused, unless to its source topic.
	if _, err := ds.Replay(t.Context(), deadletter.Selection{All: true}); !errors.Is(err, deadletter.ErrNoHandler) || !errors.Is(err, deadletter.ErrInvalidRequest) {
		t.Errorf("Replay of a record without handler = %v, want ErrNoHandler", err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "e" {
		t.Errorf("dead set after the refused replay: %q, want e", got)
	}
	if n := endOffsets(t, c, "in"); n != 0 {
		t.Errorf("in has end offsets adding to %d before e's replay to it; want 0: a replay to a retry topic writes nothing to the source", n)
	}
	if res, err := ds.Replay(t.Context(), deadletter.Selection{All: true, ToSource: true}); err != nil || res.Count != 1 {
		t.Fatalf("Replay(e, to source) = %+v, %v", res, err)
	}
	src := readCommitted(t, c, "in")
	if len(src) != 1 || src[0].Partition != e.Partition || string(src[0].Key) != "e" || string(src[0].Value) != string(e.Value) ||
		!src[0].Timestamp.Equal(e.Timestamp) || fmt.Sprint(src[0].Headers) != fmt.Sprint(e.Headers) {
		t.Errorf("in holds %v, want e as it was read from in[1]", src)
	}
	if got := listAll(t, ds, deadletter.Query{}); len(got) != 0 {
		t.Errorf("dead set after replaying everything: %q", keys(got))
	}
}

func TestReplayRefusesWhatItCannotReplay(t *testing.T) {
	c := deadSetCluster(t)
	writeTxn(t, c, true, deadletter.Encode("dlq", 2, dead(0, 30, "g", "ghost")))
	ds := openDeadSet(t, c)
	before := keys(listAll(t, ds, deadletter.Query{}))
	retryEnds := endOffsets(t, c, "app-pay-retry") + endOffsets(t, c, "app-mail-retry")
	for _, tc := range []struct {
		name string
		sel  deadletter.Selection
		want error
	}{
		{"no selection", deadletter.Selection{}, deadletter.ErrInvalidRequest},
		{"a handler without retry topic", deadletter.Selection{Filter: deadletter.Filter{Handler: "ghost"}}, deadletter.ErrUnknownTopic},
		{"everything, without handler", deadletter.Selection{All: true}, deadletter.ErrNoHandler},
		{"no handler", deadletter.Selection{Filter: deadletter.Filter{Reason: deadletter.ReasonProcessing}}, deadletter.ErrNoHandler},
		{"no such partition", deadletter.Selection{Record: &deadletter.Coordinates{Partition: 7, Offset: 0}}, deadletter.ErrNotFound},
		{"no such offset", deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: 999}}, deadletter.ErrNotFound},
		{"a transaction marker", deadletter.Selection{Record: &deadletter.Coordinates{Partition: 0, Offset: 1}}, deadletter.ErrNotFound},
		{"negative count", deadletter.Selection{Count: -1}, deadletter.ErrInvalidRequest},
		{"unknown topic", deadletter.Selection{Filter: deadletter.Filter{Topic: "no-such-topic"}}, deadletter.ErrUnknownTopic},
		{"bad cursor", deadletter.Selection{Before: "AAAA"}, deadletter.ErrBadCursor},
		{"coordinates with a filter", deadletter.Selection{Record: &deadletter.Coordinates{}, Filter: deadletter.Filter{Handler: "pay"}}, deadletter.ErrInvalidRequest},
	} {
		if _, err := ds.Replay(t.Context(), tc.sel); !errors.Is(err, tc.want) {
			t.Errorf("%s: Replay = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ds.Delete(t.Context(), deadletter.Selection{All: true, ToSource: true}); !errors.Is(err, deadletter.ErrInvalidRequest) {
		t.Errorf("Delete to source = %v, want ErrInvalidRequest", err)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != before {
		t.Errorf("after refused replays the dead set is %q, want %q", got, before)
	}
	if n := endOffsets(t, c, "app-pay-retry") + endOffsets(t, c, "app-mail-retry"); n != retryEnds {
		t.Errorf("the retry topics' end offsets moved from %d to %d", retryEnds, n)
	}
	if n := endOffsets(t, c, "in"); n != 0 {
		t.Errorf("in's end offsets add to %d, want 0", n)
	}
}

// TestReplayInterruptedIsSafeToRetry fails the commit of a replay's second
// transaction: the first thousand records stay replayed and deleted, the
// others neither; the replay run again replays those, and no record twice.
func TestReplayInterruptedIsSafeToRetry(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	if _, err := ds.Delete(t.Context(), deadletter.Selection{All: true}); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, deadletter.Encode("dlq", 2, dead(int32(i%2), int64(100+i), fmt.Sprint("k", i), "pay")))
	}
	writeTxn(t, c, true, recs...)

	commits := 0
	c.Kfake().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake().KeepControl()
		end := req.(*kmsg.EndTxnRequest)
		if end.TransactionalID != "app-dead-set" || !end.Commit {
			return nil, nil, false
		}
		if commits++; commits < 2 {
			return nil, nil, false
		}
		c.Kfake().DropControl()
		resp := end.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.InvalidTxnState.Code
		return resp, nil, true
	})
	res, err := ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}})
	if err == nil || res.Count != 1000 {
		t.Fatalf("interrupted Replay = %+v, %v; want an error after 1000 replayed", res, err)
	}
	if got := len(readCommitted(t, c, "app-pay-retry")); got != 1000 {
		t.Errorf("after the interrupted replay app-pay-retry holds %d records, want 1000", got)
	}
	if got := len(listAll(t, ds, deadletter.Query{Count: deadletter.MaxCount})); got != n-1000 {
		t.Errorf("after the interrupted replay the dead set holds %d records, want %d", got, n-1000)
	}

	res, err = ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}})
	if err != nil || res.Count != n-1000 {
		t.Fatalf("Replay run again = %+v, %v; want the other %d", res, err, n-1000)
	}
	seen := map[string]int{}
	for _, r := range readCommitted(t, c, "app-pay-retry") {
		seen[string(r.Key)]++
	}
	for i := range n {
		if k := fmt.Sprint("k", i); seen[k] != 1 {
			t.Errorf("%s replayed %d times, want once", k, seen[k])
		}
	}
	if got := listAll(t, ds, deadletter.Query{}); len(got) != 0 {
		t.Errorf("the dead set holds %d records after the replay, want none", len(got))
	}
}

// TestChangesFenceEachOther starts a change's transaction as another
// process would (the same transactional ID) and then a Delete: the Delete
// fences it, so what it wrote never commits.
func TestChangesFenceEachOther(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	if _, err := ds.Delete(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Key: []byte("a")}}); err != nil {
		t.Fatal(err) // creates the positions topic
	}
	other, err := c.Client(kgo.TransactionalID("app-dead-set"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	// A position that would delete everything in dlq[1].
	hide := &kgo.Record{Topic: "app-dead-set-positions", Key: []byte("dlq/1"), Value: []byte("1000")}
	if err := other.ProduceSync(t.Context(), hide).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if res, err := ds.Delete(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Key: []byte("d")}}); err != nil || res.Count != 1 {
		t.Fatalf("Delete(d) = %+v, %v", res, err)
	}
	if err := other.EndTransaction(t.Context(), kgo.TryCommit); err == nil {
		t.Error("the fenced transaction committed")
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "b e" {
		t.Errorf("dead set: %q, want b e", got)
	}
}

// TestReplayFencedMidway starts another change while a replay commits its
// first transaction: the replay stops with ErrConcurrentChange, having
// replayed nothing, and run again replays everything once.
func TestReplayFencedMidway(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	var fenceErr error
	c.Kfake().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if end := req.(*kmsg.EndTxnRequest); end.TransactionalID != "app-dead-set" {
			return nil, nil, false
		}
		c.Kfake().DropControl()
		c.Kfake().SleepControl(func() {
			other, err := c.Client(kgo.TransactionalID("app-dead-set"))
			if err != nil {
				fenceErr = err
				return
			}
			defer other.Close()
			_, _, fenceErr = other.ProducerID(t.Context())
		})
		return nil, nil, false
	})
	_, err := ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}})
	if fenceErr != nil {
		t.Fatal(fenceErr)
	}
	if !errors.Is(err, deadletter.ErrConcurrentChange) {
		t.Fatalf("fenced Replay = %v, want ErrConcurrentChange", err)
	}
	if n := len(readCommitted(t, c, "app-pay-retry")); n != 0 {
		t.Errorf("after the fenced replay app-pay-retry holds %d records, want none", n)
	}
	if res, err := ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}}); err != nil || res.Count != 2 {
		t.Fatalf("Replay run again = %+v, %v", res, err)
	}
	if n := len(readCommitted(t, c, "app-pay-retry")); n != 2 {
		t.Errorf("app-pay-retry holds %d records, want 2", n)
	}
}

// TestReplayRunsAgainWhenTheClientAbortsSilently turns the replay's first
// commit into an abort that the client sees succeed, as kgo's own silent
// aborts look: the replay finds its transaction aborted, runs again and
// replays each record once.
func TestReplayRunsAgainWhenTheClientAbortsSilently(t *testing.T) {
	c := deadSetCluster(t)
	ds := openDeadSet(t, c)
	aborted := false
	c.Kfake().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		end := req.(*kmsg.EndTxnRequest)
		if end.TransactionalID != "app-dead-set" || !end.Commit {
			return nil, nil, false
		}
		c.Kfake().DropControl()
		end.Commit, aborted = false, true
		return nil, nil, false
	})
	res, err := ds.Replay(t.Context(), deadletter.Selection{Filter: deadletter.Filter{Handler: "pay"}})
	if err != nil || res != (deadletter.Result{Count: 2}) {
		t.Fatalf("Replay = %+v, %v; want 2 replayed", res, err)
	}
	if !aborted {
		t.Fatal("no commit was turned into an abort")
	}
	if n := len(readCommitted(t, c, "app-pay-retry")); n != 2 {
		t.Errorf("app-pay-retry holds %d records, want 2", n)
	}
	if got := keys(listAll(t, ds, deadletter.Query{})); got != "d e" {
		t.Errorf("dead set after the replay: %q, want d e", got)
	}
}
