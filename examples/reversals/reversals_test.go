package main

import (
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// exhausted lists the bookings whose every one of attempts calls fails at
// share: the ones the wallet sends to the dead set.
func exhausted(bookings []Booking, share float64, attempts int) []string {
	var out []string
	for _, bk := range bookings {
		if bk.Status != "cancelled" {
			continue
		}
		all := true
		for n := 1; n <= attempts; n++ {
			all = all && fails(bk.ID, n, share)
		}
		if all {
			out = append(out, bk.ID)
		}
	}
	return out
}

// The worker in the test driver: the calls that keep failing reach the
// dead set after the policy's attempts, due when the policy says; once the
// wallet is fixed, their replay through the retry topic reverses them, and
// every cancelled booking is reversed exactly once.
func TestReversalsInDriver(t *testing.T) {
	const share = 0.6
	bookings := Sample(90)
	wallet := newWallet(bookings)
	wallet.SetFailShare(share)
	srv := httptest.NewServer(wallet)
	defer srv.Close()

	var d *testutil.Driver
	policy := Policy()
	policy.Jitter = 0
	policy.Now = func() time.Time { return d.WallClockTime() }
	top, err := Topology(&Reverser{URL: srv.URL, Client: srv.Client()}, policy, 8)
	if err != nil {
		t.Fatal(err)
	}
	d = testutil.NewDriver(t, top, testutil.Config{ApplicationID: ApplicationID})
	in := testutil.NewInputTopic(d, BookingsTopic, serde.String(), serde.JSON[Booking]())
	for _, bk := range bookings {
		in.Pipe(bk.ID, bk)
	}
	want := cancelled(bookings)
	wantDead := exhausted(bookings, share, policy.MaxAttempts)
	if len(wantDead) == 0 || len(wantDead) == want {
		t.Fatalf("the sample exhausts %d of %d bookings: the test needs some, not all", len(wantDead), want)
	}
	// The retries wait 20ms, 40ms, 80ms: nothing is dead before 140ms.
	// The clock moves a millisecond at a time, as each retry counts its
	// due time from the time it ran.
	for range 139 {
		d.AdvanceWallClockTime(time.Millisecond)
	}
	deadTopic := testutil.NewOutputTopic(d, deadletter.DefaultTopic(ApplicationID), serde.Bytes(), serde.Bytes())
	if !deadTopic.IsEmpty() {
		t.Fatalf("%d records dead before the last attempt was due", deadTopic.Len())
	}
	d.AdvanceWallClockTime(time.Millisecond)
	var dead []deadletter.Record
	var deadIDs []string
	for _, r := range deadTopic.ReadAll() {
		kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		dl, err := deadletter.Parse(kr)
		if err != nil {
			t.Fatal(err)
		}
		if dl.Reason != retry.ReasonExhausted || dl.Topic != BookingsTopic || dl.Handler != HandlerName || dl.Attempts != policy.MaxAttempts {
			t.Errorf("dead-set record %s: reason %q from %q by %q after %d attempts, want %q from %q by %q after %d",
				dl.Key, dl.Reason, dl.Topic, dl.Handler, dl.Attempts, retry.ReasonExhausted, BookingsTopic, HandlerName, policy.MaxAttempts)
		}
		dead = append(dead, dl)
		deadIDs = append(deadIDs, string(dl.Key))
	}
	slices.Sort(deadIDs)
	if !slices.Equal(deadIDs, wantDead) {
		t.Fatalf("dead set %q, want %q", deadIDs, wantDead)
	}
	if reversed, _ := wallet.Reversed(); reversed != want-len(wantDead) {
		t.Fatalf("%d reversed before the replay, want %d", reversed, want-len(wantDead))
	}

	// Fixed, the wallet takes the replays, written to the retry topic as
	// the dead set's Replay writes them: attempt 0, due now.
	wallet.SetFailShare(0)
	retryTopic := testutil.NewInputTopic(d, retry.Topic(ApplicationID, HandlerName), serde.String(), serde.JSON[Booking]())
	for _, dl := range dead {
		r := retry.NewRecord(retry.Topic(ApplicationID, HandlerName), dl.Partition, &kgo.Record{Headers: dl.Headers},
			retry.Info{Attempt: 0, Due: d.WallClockTime(), Error: dl.Message, Topic: dl.Topic, Partition: dl.Partition, Offset: dl.Offset})
		var hs []topology.Header
		for _, h := range r.Headers {
			hs = append(hs, topology.Header{Key: h.Key, Value: h.Value})
		}
		bk, err := serde.JSON[Booking]().Deserialize(r.Topic, dl.Value)
		if err != nil {
			t.Fatal(err)
		}
		retryTopic.PipeRecords(topology.Record[string, Booking]{Key: string(dl.Key), Value: bk, Timestamp: dl.Timestamp, Headers: hs})
	}
	d.AdvanceWallClockTime(time.Millisecond)
	reversed, repeats := wallet.Reversed()
	if reversed != want || repeats != 0 {
		t.Fatalf("%d of %d reversed after the replay, %d reversed twice", reversed, want, repeats)
	}
	if got, want := wallet.Balances(), expected(bookings); !maps.Equal(got, want) {
		t.Fatalf("balances %v, want %v", got, want)
	}
	if !deadTopic.IsEmpty() {
		t.Fatalf("%d more dead-set records after the replay", deadTopic.Len())
	}
}

// The wallet reverses a booking once, however often it is asked, answers
// 404 for an unknown booking, and fails the share of calls it is told to.
func TestWallet(t *testing.T) {
	bookings := Sample(3)
	w := newWallet(bookings)
	srv := httptest.NewServer(w)
	defer srv.Close()
	rv := &Reverser{URL: srv.URL, Client: srv.Client()}
	ctx := t.Context()
	for range 2 {
		if out := rv.Reverse(ctx, bookings[0].ID, bookings[0]); !out.IsSuccess() {
			t.Fatalf("reverse: %v", out)
		}
	}
	if reversed, repeats := w.Reversed(); reversed != 1 || repeats != 1 {
		t.Fatalf("reversed %d, repeats %d; want 1 and 1", reversed, repeats)
	}
	if got, want := w.Balances()[bookings[0].User], int64(InitialBalance); got != want {
		t.Fatalf("balance %d, want %d", got, want)
	}
	if out := rv.Reverse(ctx, "nope", Booking{}); !strings.HasPrefix(out.String(), "dead-letter: wallet answered 404") {
		t.Fatalf("unknown booking: %v, want a dead letter", out)
	}
	w.SetFailShare(1)
	if out := rv.Reverse(ctx, bookings[1].ID, bookings[1]); out.Err() == nil {
		t.Fatalf("failing wallet: %v, want a retry", out)
	}
}
