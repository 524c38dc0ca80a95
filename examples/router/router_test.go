package main

import (
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

func TestRoutesEachType(t *testing.T) {
	d, in := newDriver(t, 1)
	in.Pipe("alice", []byte(`{"id":"o-1","type":"order.created","user":"alice","amount":12.5,"at":"2024-05-01T10:00:00Z"}`))
	in.Pipe("bob", []byte(`{"id":"p-1","type":"payment.received","user":"bob","amount":40,"at":"2024-05-01T10:01:00Z"}`))
	in.Pipe("carol", []byte(`{"id":"u-1","type":"user.signup","user":"carol","at":"2024-05-01T10:02:00Z"}`))
	checkOutputs(t, readOutputs(t, d), map[string][]rec{
		"router-events.order.created":    {valid("alice", `{"id":"o-1","type":"order.created","user":"alice","amount":12.5,"at":"2024-05-01T10:00:00Z"}`)},
		"router-events.payment.received": {valid("bob", `{"id":"p-1","type":"payment.received","user":"bob","amount":40,"at":"2024-05-01T10:01:00Z"}`)},
		"router-events.user.signup":      {valid("carol", `{"id":"u-1","type":"user.signup","user":"carol","amount":0,"at":"2024-05-01T10:02:00Z"}`)},
	})
}

func TestNormalises(t *testing.T) {
	tests := []struct {
		name, key, value string
		topic            string
		want             rec
	}{
		{
			name:  "type case and spaces",
			key:   "alice",
			value: `{"id":"o-1","type":"  Order.CREATED\t","user":"alice","amount":1,"at":"2024-05-01T10:00:00Z"}`,
			topic: "router-events.order.created",
			want:  valid("alice", `{"id":"o-1","type":"order.created","user":"alice","amount":1,"at":"2024-05-01T10:00:00Z"}`),
		},
		{
			name:  "user and id trimmed, key from user",
			key:   " bob ",
			value: `{"id":" p-1 ","type":"payment.received","user":" bob\n","amount":1,"at":"2024-05-01T10:00:00Z"}`,
			topic: "router-events.payment.received",
			want:  valid("bob", `{"id":"p-1","type":"payment.received","user":"bob","amount":1,"at":"2024-05-01T10:00:00Z"}`),
		},
		{
			name:  "amount rounded up to cents",
			key:   "carol",
			value: `{"id":"o-2","type":"order.created","user":"carol","amount":7.125,"at":"2024-05-01T10:00:00Z"}`,
			topic: "router-events.order.created",
			want:  valid("carol", `{"id":"o-2","type":"order.created","user":"carol","amount":7.13,"at":"2024-05-01T10:00:00Z"}`),
		},
		{
			name:  "amount rounded down to cents",
			key:   "carol",
			value: `{"id":"o-3","type":"order.created","user":"carol","amount":99.994,"at":"2024-05-01T10:00:00Z"}`,
			topic: "router-events.order.created",
			want:  valid("carol", `{"id":"o-3","type":"order.created","user":"carol","amount":99.99,"at":"2024-05-01T10:00:00Z"}`),
		},
		{
			name:  "time offset to UTC",
			key:   "dave",
			value: `{"id":"u-1","type":"user.signup","user":"dave","at":"2024-05-01T00:30:00+02:00"}`,
			topic: "router-events.user.signup",
			want:  valid("dave", `{"id":"u-1","type":"user.signup","user":"dave","amount":0,"at":"2024-04-30T22:30:00Z"}`),
		},
		{
			name:  "fractional seconds kept, spaces trimmed",
			key:   "erin",
			value: `{"id":"u-2","type":"user.signup","user":"erin","at":" 2024-05-01T10:00:00.120Z "}`,
			topic: "router-events.user.signup",
			want:  valid("erin", `{"id":"u-2","type":"user.signup","user":"erin","amount":0,"at":"2024-05-01T10:00:00.12Z"}`),
		},
		{
			name:  "unknown fields dropped",
			key:   "alice",
			value: `{"id":"o-4","type":"order.created","user":"alice","amount":2,"at":"2024-05-01T10:00:00Z","coupon":"X"}`,
			topic: "router-events.order.created",
			want:  valid("alice", `{"id":"o-4","type":"order.created","user":"alice","amount":2,"at":"2024-05-01T10:00:00Z"}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, in := newDriver(t, 1)
			in.Pipe(tt.key, []byte(tt.value))
			checkOutputs(t, readOutputs(t, d), map[string][]rec{tt.topic: {tt.want}})
		})
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name   string
		value  []byte // nil is a Kafka null
		reason string
	}{
		{"null value", nil, "empty value"},
		{"empty value", []byte{}, "empty value"},
		{"not JSON", []byte(`not json`), "invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
		{"truncated JSON", []byte(`{"id":"o-1"`), "invalid JSON: unexpected end of JSON input"},
		{"JSON array", []byte(`[1,2]`), "invalid JSON: json: cannot unmarshal array into Go value of type main.wireEvent"},
		{"amount as a string", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":"12.50","at":"2024-05-01T10:00:00Z"}`),
			"invalid JSON: json: cannot unmarshal string into Go struct field wireEvent.amount of type float64"},
		{"JSON null", []byte(`null`), "missing id"},
		{"missing id", []byte(`{"type":"order.created","user":"a","amount":1,"at":"2024-05-01T10:00:00Z"}`), "missing id"},
		{"blank id", []byte(`{"id":"  ","type":"order.created","user":"a","amount":1,"at":"2024-05-01T10:00:00Z"}`), "missing id"},
		{"missing type", []byte(`{"id":"o-1","user":"a","amount":1,"at":"2024-05-01T10:00:00Z"}`), "missing type"},
		{"unknown type", []byte(`{"id":"r-1","type":" Refund.Issued ","user":"a","amount":1,"at":"2024-05-01T10:00:00Z"}`), `unknown type "refund.issued"`},
		{"missing user", []byte(`{"id":"o-1","type":"order.created","amount":1,"at":"2024-05-01T10:00:00Z"}`), "missing user"},
		{"negative amount", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":-0.5,"at":"2024-05-01T10:00:00Z"}`), "negative amount -0.5"},
		{"tiny negative amount", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":-0.001,"at":"2024-05-01T10:00:00Z"}`), "negative amount -0.001"},
		{"missing at", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":1}`), "missing at"},
		{"unparseable at", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":1,"at":"yesterday"}`), `at "yesterday" is not an RFC 3339 time`},
		{"date without time", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":1,"at":"2024-05-01"}`), `at "2024-05-01" is not an RFC 3339 time`},
		{"time without zone", []byte(`{"id":"o-1","type":"order.created","user":"a","amount":1,"at":"2024-05-01T10:00:00"}`), `at "2024-05-01T10:00:00" is not an RFC 3339 time`},
		{"first problem wins", []byte(`{"type":"nope","amount":-1,"at":"never"}`), "missing id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, in := newDriver(t, 1)
			if err := in.PipeRaw([]byte("alice"), tt.value, time.UnixMilli(1000)); err != nil {
				t.Fatal(err)
			}
			want := string(tt.value)
			if tt.value == nil {
				want = "<null>"
			}
			checkOutputs(t, readOutputs(t, d), map[string][]rec{
				RejectedTopic: {rejected("alice", want, tt.reason)},
			})
			if n := d.SkippedRecords(); n != 0 {
				t.Errorf("SkippedRecords = %d, want 0: invalid events are rejected, not bad records", n)
			}
		})
	}
}

// TestKeepsHeadersAndTimestamps checks that output records keep the input
// record's timestamp and headers, and that a rejection adds its header
// after them.
func TestKeepsHeadersAndTimestamps(t *testing.T) {
	d, in := newDriver(t, 1)
	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	trace := topology.Header{Key: "trace-id", Value: []byte("t-1")}
	in.PipeRecords(
		topology.Record[string, []byte]{Key: "alice", Value: []byte(`{"id":"o-1","type":"order.created","user":"alice","amount":1,"at":"2024-05-01T09:00:00Z"}`), Timestamp: ts, Headers: []topology.Header{trace}},
		topology.Record[string, []byte]{Key: "bob", Value: []byte(`bad`), Timestamp: ts.Add(time.Second), Headers: []topology.Header{trace}},
	)
	orders := testutil.NewOutputTopic(d, "router-events.order.created", serde.String(), serde.String()).ReadAll()
	rejects := testutil.NewOutputTopic(d, RejectedTopic, serde.String(), serde.String()).ReadAll()
	if len(orders) != 1 || len(rejects) != 1 {
		t.Fatalf("got %d orders and %d rejections, want 1 and 1", len(orders), len(rejects))
	}
	if got := orders[0]; !got.Timestamp.Equal(ts) || headersString(got.Headers) != "trace-id=t-1" {
		t.Errorf("order: timestamp %v, headers [%s]; want %v, [trace-id=t-1]", got.Timestamp, headersString(got.Headers), ts)
	}
	wantHeaders := "trace-id=t-1, rejection-reason=invalid JSON: invalid character 'b' looking for beginning of value"
	if got := rejects[0]; !got.Timestamp.Equal(ts.Add(time.Second)) || headersString(got.Headers) != wantHeaders {
		t.Errorf("rejection: timestamp %v, headers [%s]; want %v, [%s]", got.Timestamp, headersString(got.Headers), ts.Add(time.Second), wantHeaders)
	}
}

// TestPartitions runs the fixture through three partitions of every topic:
// each key's records come out in order, in one partition.
func TestPartitions(t *testing.T) {
	d, in := newDriver(t, 3)
	for _, e := range fixture {
		in.Pipe(e.key, []byte(e.value))
	}
	checkOutputs(t, readOutputs(t, d), fixtureWant)
}

// TestSample checks that the sample that main produces has every kind of
// event and rejection.
func TestSample(t *testing.T) {
	d, in := newDriver(t, 3)
	for _, r := range Sample(50) {
		if err := in.PipeRaw(r.Key, r.Value, time.UnixMilli(1000)); err != nil {
			t.Fatal(err)
		}
	}
	got := readOutputs(t, d)
	total := 0
	for _, topic := range OutputTopics() {
		if len(got[topic]) == 0 {
			t.Errorf("nothing in %s", topic)
		}
		total += len(got[topic])
	}
	if total != 50 {
		t.Errorf("%d records out for 50 in", total)
	}
	reasons := map[string]bool{}
	for _, r := range got[RejectedTopic] {
		reasons[r.Headers] = true
	}
	if len(reasons) != len(sampleInvalid) {
		t.Errorf("%d distinct rejections, want %d: %v", len(reasons), len(sampleInvalid), reasons)
	}
}
