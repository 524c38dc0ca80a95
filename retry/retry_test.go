package retry_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/retry"
)

func mustDefaults(t *testing.T, p retry.Policy) retry.Policy {
	t.Helper()
	p, err := p.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBackoffs(t *testing.T) {
	for _, tc := range []struct {
		b    retry.Backoff
		want []time.Duration // retries 1, 2, 3, 4
	}{
		{retry.Fixed(time.Second), []time.Duration{time.Second, time.Second, time.Second, time.Second}},
		{retry.Linear(time.Second, 500*time.Millisecond), []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond}},
		{retry.Exponential(100*time.Millisecond, 2), []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}},
		{retry.Exponential(time.Second, 1.5), []time.Duration{time.Second, 1500 * time.Millisecond, 2250 * time.Millisecond, 3375 * time.Millisecond}},
	} {
		var got []time.Duration
		for r := 1; r <= 4; r++ {
			got = append(got, tc.b.Delay(r))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: delays %v, want %v", tc.b, got, tc.want)
		}
	}
}

func TestExponentialSaturates(t *testing.T) {
	b := retry.Exponential(time.Hour, 10)
	if got := b.Delay(1000); got != math.MaxInt64 {
		t.Fatalf("Delay(1000) = %v, want the largest Duration", got)
	}
	p := mustDefaults(t, retry.Policy{Backoff: b, MaxAttempts: 2000})
	if got := p.Delay(1000); got != retry.DefaultMaxDelay {
		t.Fatalf("Policy.Delay(1000) = %v, want MaxDelay %v", got, retry.DefaultMaxDelay)
	}
}

func TestPolicyDefaults(t *testing.T) {
	p := mustDefaults(t, retry.Policy{})
	if p.MaxAttempts != 5 || p.MaxDelay != time.Hour || p.Jitter != 0 || p.Blocking || p.Rand == nil || p.Now != nil {
		t.Fatalf("defaults: %+v", p)
	}
	var got []time.Duration
	for r := 1; r < p.MaxAttempts; r++ {
		got = append(got, p.Delay(r))
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("default delays %v, want %v", got, want)
	}
}

func TestPolicyValidation(t *testing.T) {
	for _, tc := range []struct {
		p     retry.Policy
		field string
	}{
		{retry.Policy{MaxAttempts: -1}, "MaxAttempts"},
		{retry.Policy{MaxDelay: -time.Second}, "MaxDelay"},
		{retry.Policy{Jitter: 1.5}, "Jitter"},
		{retry.Policy{Jitter: -0.1}, "Jitter"},
		{retry.Policy{Jitter: math.NaN()}, "Jitter"},
		{retry.Policy{Backoff: retry.Fixed(-time.Second)}, "Backoff"},
		{retry.Policy{Backoff: retry.Linear(time.Second, -time.Second)}, "Backoff"},
		{retry.Policy{Backoff: retry.Exponential(time.Second, 0.5)}, "Backoff"},
		{retry.Policy{Backoff: retry.Exponential(time.Second, math.Inf(1))}, "Backoff"},
		{retry.Policy{Backoff: retry.Exponential(-time.Second, 2)}, "Backoff"},
	} {
		_, err := tc.p.WithDefaults()
		if !errors.Is(err, retry.ErrInvalidPolicy) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: err = %v, want ErrInvalidPolicy naming %s", tc.p, err, tc.field)
		}
	}
}

// Next gives due times from the time of the failure, by the policy, and
// stops after MaxAttempts calls; MaxDelay caps and Jitter shortens each
// delay by the share Rand draws.
func TestPolicyNext(t *testing.T) {
	draws := []float64{0, 0.5, 1}
	i := 0
	p := mustDefaults(t, retry.Policy{
		Backoff:     retry.Exponential(time.Second, 3),
		MaxAttempts: 4,
		MaxDelay:    5 * time.Second,
		Jitter:      0.5,
		Rand:        func() float64 { i++; return draws[i-1] },
	})
	now := time.Unix(1000, 0)
	var got []time.Duration
	for attempt := 0; ; attempt++ {
		due, ok := p.Next(attempt, now)
		if !ok {
			if attempt != 3 {
				t.Fatalf("gave up after attempt %d, want after 3 (MaxAttempts 4)", attempt)
			}
			break
		}
		got = append(got, due.Sub(now))
	}
	// 1s, 3s, 9s capped to 5s; jitter removes 0%, 25%, 50%.
	if want := []time.Duration{time.Second, 2250 * time.Millisecond, 2500 * time.Millisecond}; !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if _, ok := mustDefaults(t, retry.Policy{MaxAttempts: 1}).Next(0, now); ok {
		t.Fatal("MaxAttempts 1 retried")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	orig := &kgo.Record{
		Topic: "bookings", Partition: 3, Offset: 42,
		Key: []byte("k"), Value: []byte("v"), Timestamp: time.UnixMilli(1234),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t1")}, {Key: retry.HeaderError, Value: []byte("an original header of that name")}},
	}
	due := time.UnixMilli(99_000)
	info := retry.Info{Attempt: 2, Due: due, Error: "wallet: 503", Topic: "bookings", Partition: 3, Offset: 42}
	r := retry.NewRecord(retry.Topic("app", "reverse"), 3, orig, info)
	if r.Topic != "app-reverse-retry" || r.Partition != 3 || string(r.Key) != "k" || string(r.Value) != "v" || !r.Timestamp.Equal(orig.Timestamp) {
		t.Fatalf("retry record %+v", r)
	}
	if got := retry.Due(r); !got.Equal(due) {
		t.Fatalf("Due = %v, want %v", got, due)
	}
	gotInfo, headers, err := retry.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	if !gotInfo.Due.Equal(due) {
		t.Fatalf("parsed due %v, want %v", gotInfo.Due, due)
	}
	gotInfo.Due = due
	if gotInfo != info {
		t.Fatalf("parsed %+v, want %+v", gotInfo, info)
	}
	if !slices.EqualFunc(headers, orig.Headers, func(a, b kgo.RecordHeader) bool { return a.Key == b.Key && string(a.Value) == string(b.Value) }) {
		t.Fatalf("original headers %q, want %q", headers, orig.Headers)
	}
	// Another round keeps the original headers once.
	r2 := retry.NewRecord(r.Topic, r.Partition, &kgo.Record{Key: r.Key, Value: r.Value, Headers: headers}, retry.Info{Attempt: 3, Due: due})
	if _, h2, _ := retry.Parse(r2); len(h2) != len(orig.Headers) {
		t.Fatalf("second round: headers %q", h2)
	}
}

func TestParseRejectsOtherRecords(t *testing.T) {
	for _, h := range [][]kgo.RecordHeader{
		nil,
		{{Key: retry.HeaderAttempt, Value: []byte("-1")}},
		{{Key: retry.HeaderAttempt, Value: []byte("x")}},
		{{Key: retry.HeaderAttempt, Value: []byte("99999999999")}},
	} {
		if _, _, err := retry.Parse(&kgo.Record{Topic: "t", Headers: h}); !errors.Is(err, retry.ErrNotRetry) {
			t.Errorf("headers %q: err = %v, want ErrNotRetry", h, err)
		}
	}
	if d := retry.Due(&kgo.Record{Headers: []kgo.RecordHeader{{Key: retry.HeaderDue, Value: []byte("soon")}}}); !d.IsZero() {
		t.Fatalf("Due of a malformed header = %v, want zero", d)
	}
}

// The coordinate headers are the dead-letter format's.
func TestCoordinateHeadersAreDeadLetters(t *testing.T) {
	if retry.HeaderTopic != deadletter.HeaderTopic || retry.HeaderPartition != deadletter.HeaderPartition || retry.HeaderOffset != deadletter.HeaderOffset {
		t.Fatal("retry's coordinate headers differ from deadletter's")
	}
}

func TestDueDoesNotAllocate(t *testing.T) {
	r := retry.NewRecord("t", 0, &kgo.Record{}, retry.Info{Attempt: 1, Due: time.UnixMilli(5)})
	if n := testing.AllocsPerRun(100, func() { retry.Due(r) }); n != 0 {
		t.Fatalf("Due allocates %v times", n)
	}
}
