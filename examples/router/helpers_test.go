package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// rec is an output record as the tests compare it.
type rec struct {
	Key     string
	Value   string // "<null>" for a Kafka null
	Headers string // "k=v" pairs joined by ", "
}

func (r rec) String() string {
	if r.Headers == "" {
		return fmt.Sprintf("%s=%s", r.Key, r.Value)
	}
	return fmt.Sprintf("%s=%s [%s]", r.Key, r.Value, r.Headers)
}

// valid is the expected record of a valid event.
func valid(key, value string) rec { return rec{Key: key, Value: value} }

// rejected is the expected record of a rejected event.
func rejected(key, value, reason string) rec {
	return rec{Key: key, Value: value, Headers: ReasonHeader + "=" + reason}
}

func headersString(hs []topology.Header) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Key+"="+string(h.Value))
	}
	return strings.Join(parts, ", ")
}

func fromKgo(r *kgo.Record) rec {
	var hs []topology.Header
	for _, h := range r.Headers {
		hs = append(hs, topology.Header{Key: h.Key, Value: h.Value})
	}
	v := string(r.Value)
	if r.Value == nil {
		v = "<null>"
	}
	return rec{Key: string(r.Key), Value: v, Headers: headersString(hs)}
}

// newDriver runs the router in the test driver with the given partition
// count for every topic.
func newDriver(t *testing.T, partitions int) (*testutil.Driver, *testutil.InputTopic[string, []byte]) {
	t.Helper()
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config{Partitions: map[string]int{InputTopic: partitions}}
	for _, topic := range OutputTopics() {
		cfg.Partitions[topic] = partitions
	}
	d := testutil.NewDriver(t, top, cfg)
	return d, testutil.NewInputTopic(d, InputTopic, serde.String(), serde.Bytes())
}

// readOutputs reads every output topic of d, in the order records were
// written, and checks that records with one key share a partition.
func readOutputs(t *testing.T, d *testutil.Driver) map[string][]rec {
	t.Helper()
	got := map[string][]rec{}
	for _, topic := range OutputTopics() {
		out := testutil.NewOutputTopic(d, topic, serde.String(), serde.Bytes())
		partitionOf := map[string]int32{}
		for _, r := range out.ReadAll() {
			if p, ok := partitionOf[r.Key]; ok && p != r.Partition {
				t.Errorf("%s: key %q in partitions %d and %d", topic, r.Key, p, r.Partition)
			}
			partitionOf[r.Key] = r.Partition
			v := string(r.Value)
			if r.NullValue {
				v = "<null>"
			}
			got[topic] = append(got[topic], rec{Key: r.Key, Value: v, Headers: headersString(r.Headers)})
		}
	}
	return got
}

// checkOutputs compares output per topic and per key: for each key, got
// must hold want's records in want's order. Order across keys is free.
func checkOutputs(t *testing.T, got, want map[string][]rec) {
	t.Helper()
	for _, topic := range OutputTopics() {
		g, w := byKey(got[topic]), byKey(want[topic])
		for _, key := range sortedKeys(g, w) {
			if !slices.Equal(g[key], w[key]) {
				t.Errorf("%s, key %q:\n got %v\nwant %v", topic, key, g[key], w[key])
			}
		}
	}
	for topic := range got {
		if !slices.Contains(OutputTopics(), topic) {
			t.Errorf("unexpected topic %q: %v", topic, got[topic])
		}
	}
}

func byKey(recs []rec) map[string][]rec {
	m := map[string][]rec{}
	for _, r := range recs {
		m[r.Key] = append(m[r.Key], r)
	}
	return m
}

func sortedKeys(ms ...map[string][]rec) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// fixture is a mix of events for several users, valid and not, with the
// records the router must write for them.
var fixture = []struct{ key, value string }{
	{"alice", `{"id":"o-1","type":"order.created","user":"alice","amount":12.5,"at":"2024-05-01T10:00:00Z"}`},
	{"bob", `{"id":"u-1","type":"user.signup","user":"bob","at":"2024-05-01T10:01:00Z"}`},
	{"alice", `{"id":"p-1","type":"payment.received","user":"alice","amount":12.5,"at":"2024-05-01T10:02:00Z"}`},
	{"carol", `{"id":"o-2","type":" Order.Created","user":" carol ","amount":7.125,"at":"2024-05-01T12:03:00+02:00"}`},
	{"dave", `{"id":"o-3","type":"order.created","user":"dave","amount":-1,"at":"2024-05-01T10:04:00Z"}`},
	{"alice", `{"id":"o-4","type":"ORDER.CREATED","user":"alice","amount":3,"at":"2024-05-01T10:05:00.250Z"}`},
	{"bob", `{"id":"p-2","type":"payment.received","user":"bob","amount":19.999,"at":"2024-05-01T10:06:00Z"}`},
	{"erin", `{"id":"x-1","type":"order.cancelled","user":"erin","at":"2024-05-01T10:07:00Z"}`},
	{"carol", `{"id":"p-3","type":"payment.received","user":"carol","amount":7.13,"at":"2024-05-01T05:08:00-05:00"}`},
	{"dave", `oops`},
	{"erin", `{"id":"u-2","type":"user.signup","user":"erin","at":"2024-05-01T10:09:00Z"}`},
	{"alice", `{"id":"o-5","type":"order.created","user":"alice","amount":1,"at":"May 1st"}`},
	{"bob", `{"id":"o-6","type":"order.created","user":"bob","amount":0.1,"at":"2024-05-01T10:10:00Z"}`},
	{"dave", `{"id":"u-3","type":"user.signup","user":"dave","at":"2024-05-01T10:11:00Z"}`},
	{"alice", `{"id":"o-7","type":"order.created","user":"alice","amount":4.2,"at":"2024-05-01T10:12:00Z"}`},
}

var fixtureWant = map[string][]rec{
	"router-events.order.created": {
		valid("alice", `{"id":"o-1","type":"order.created","user":"alice","amount":12.5,"at":"2024-05-01T10:00:00Z"}`),
		valid("carol", `{"id":"o-2","type":"order.created","user":"carol","amount":7.13,"at":"2024-05-01T10:03:00Z"}`),
		valid("alice", `{"id":"o-4","type":"order.created","user":"alice","amount":3,"at":"2024-05-01T10:05:00.25Z"}`),
		valid("bob", `{"id":"o-6","type":"order.created","user":"bob","amount":0.1,"at":"2024-05-01T10:10:00Z"}`),
		valid("alice", `{"id":"o-7","type":"order.created","user":"alice","amount":4.2,"at":"2024-05-01T10:12:00Z"}`),
	},
	"router-events.payment.received": {
		valid("alice", `{"id":"p-1","type":"payment.received","user":"alice","amount":12.5,"at":"2024-05-01T10:02:00Z"}`),
		valid("bob", `{"id":"p-2","type":"payment.received","user":"bob","amount":20,"at":"2024-05-01T10:06:00Z"}`),
		valid("carol", `{"id":"p-3","type":"payment.received","user":"carol","amount":7.13,"at":"2024-05-01T10:08:00Z"}`),
	},
	"router-events.user.signup": {
		valid("bob", `{"id":"u-1","type":"user.signup","user":"bob","amount":0,"at":"2024-05-01T10:01:00Z"}`),
		valid("erin", `{"id":"u-2","type":"user.signup","user":"erin","amount":0,"at":"2024-05-01T10:09:00Z"}`),
		valid("dave", `{"id":"u-3","type":"user.signup","user":"dave","amount":0,"at":"2024-05-01T10:11:00Z"}`),
	},
	"router-events.rejected": {
		rejected("dave", `{"id":"o-3","type":"order.created","user":"dave","amount":-1,"at":"2024-05-01T10:04:00Z"}`, "negative amount -1"),
		rejected("erin", `{"id":"x-1","type":"order.cancelled","user":"erin","at":"2024-05-01T10:07:00Z"}`, `unknown type "order.cancelled"`),
		rejected("dave", `oops`, "invalid JSON: invalid character 'o' looking for beginning of value"),
		rejected("alice", `{"id":"o-5","type":"order.created","user":"alice","amount":1,"at":"May 1st"}`, `at "May 1st" is not an RFC 3339 time`),
	},
}
