package join_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// kind selects the join a test runs.
type kind int

const (
	inner kind = iota
	leftJoin
	outerJoin
)

func (k kind) String() string { return [...]string{"inner", "left", "outer"}[k] }

// str prints a joiner's possibly absent value as Kafka's tests do.
func str(v *string) string {
	if v == nil {
		return "null"
	}
	return *v
}

// joinTopics joins l and r with the given kind of join, the joiner writing
// "left+right" as Kafka's MockValueJoiner.TOSTRING_JOINER does.
func joinTopics[K any](k kind, l, r kstream.Stream[K, string], w join.Windows, opts ...join.Option) kstream.Stream[K, string] {
	return joinSep(k, l, r, w, "+", opts...)
}

// joinSep is joinTopics with the joiner writing "left<sep>right".
func joinSep[K any](k kind, l, r kstream.Stream[K, string], w join.Windows, sep string, opts ...join.Option) kstream.Stream[K, string] {
	switch k {
	case leftJoin:
		return join.StreamsLeft(l, r, w, func(_ K, a string, b *string) string { return a + sep + str(b) }, opts...)
	case outerJoin:
		return join.StreamsOuter(l, r, w, func(_ K, a, b *string) string { return str(a) + sep + str(b) }, opts...)
	}
	return join.Streams(l, r, w, func(_ K, a, b string) string { return a + sep + b }, opts...)
}

// harness runs a join of topic1 (left) and topic2 (right), Int32 keys and
// String values as in Kafka's KStreamKStream*JoinTest, into topic out.
type harness struct {
	d     *testutil.Driver
	left  *testutil.InputTopic[int32, string]
	right *testutil.InputTopic[int32, string]
	out   *testutil.OutputTopic[int32, string]
}

func newHarness(t *testing.T, k kind, w join.Windows, opts ...join.Option) *harness {
	t.Helper()
	b := topology.NewBuilder()
	l := kstream.From(b, "topic1", serde.Int32(), serde.String())
	r := kstream.From(b, "topic2", serde.Int32(), serde.String())
	joinTopics(k, l, r, w, opts...).To("out", kstream.WithSerdes(serde.Int32(), serde.String()))
	return startHarness(t, b)
}

func startHarness(t *testing.T, b *topology.Builder) *harness {
	t.Helper()
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := testutil.NewDriver(t, top, testutil.Config{})
	return &harness{
		d:    d,
		left: testutil.NewInputTopic(d, "topic1", serde.Int32(), serde.String()),
		out:  testutil.NewOutputTopic(d, "out", serde.Int32(), serde.String()),
	}
}

// step is one row of a replayed sequence: the records piped, in order, and
// the results they must produce.
//
// Records are written "L0:A0@5": side (L for topic1, R for topic2), key,
// value and timestamp in ms. A key "_" is a null key, a value "null" a null
// value. Results are "0:A0+a0@5", a null key printed "_".
type step struct {
	in, want string
}

// run pipes each step's records and checks its results.
func (h *harness) run(t *testing.T, steps []step) {
	t.Helper()
	for i, s := range steps {
		for _, rec := range strings.Fields(s.in) {
			h.pipe(t, rec)
		}
		got := h.read()
		want := strings.Fields(s.want)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d (%s):\n got %q\nwant %q", i+1, s.in, got, want)
		}
	}
}

func (h *harness) pipe(t *testing.T, rec string) {
	t.Helper()
	in := h.left
	switch rec[0] {
	case 'L':
	case 'R':
		if h.right == nil { // made on first use: a self-join reads topic1 only
			h.right = testutil.NewInputTopic(h.d, "topic2", serde.Int32(), serde.String())
		}
		in = h.right
	default:
		t.Fatalf("record %q: side must be L or R", rec)
	}
	kv, tss, ok := strings.Cut(rec[1:], "@")
	ks, v, ok2 := strings.Cut(kv, ":")
	ts, err := strconv.ParseInt(tss, 10, 64)
	if !ok || !ok2 || err != nil {
		t.Fatalf("record %q: want side key:value@ms", rec)
	}
	var kb, vb []byte
	if ks != "_" {
		k, err := strconv.ParseInt(ks, 10, 32)
		if err != nil {
			t.Fatalf("record %q: key: %v", rec, err)
		}
		kb, _ = serde.Int32().Serialize(nil, "", int32(k))
	}
	if v != "null" {
		vb = []byte(v)
	}
	if err := in.PipeRaw(kb, vb, time.UnixMilli(ts)); err != nil {
		t.Fatalf("pipe %q: %v", rec, err)
	}
}

// read returns the results produced since the last read.
func (h *harness) read() []string {
	var got []string
	for _, r := range h.out.ReadAll() {
		k := fmt.Sprint(r.Key)
		if r.NullKey {
			k = "_"
		}
		got = append(got, fmt.Sprintf("%s:%s@%d", k, r.Value, r.Timestamp.UnixMilli()))
	}
	return got
}

// ms is a duration of n milliseconds.
func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// recs writes the records of keys 0 to n-1 on side ("L" or "R"), valued
// prefix+key, at the times given: one per key, or one for all.
func recs(side string, n int, prefix string, ts ...int64) string {
	var b strings.Builder
	for k := range n {
		t := ts[0]
		if len(ts) > 1 {
			t = ts[k]
		}
		fmt.Fprintf(&b, "%s%d:%s%d@%d ", side, k, prefix, k, t)
	}
	return b.String()
}
