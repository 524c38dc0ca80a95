package ktable

import (
	"bytes"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

func TestSuppressEntryRoundTrip(t *testing.T) {
	vs := serde.String()
	for _, tc := range []struct {
		ch      Change[string]
		headers []topology.Header
	}{
		{Change[string]{New: "n", HasNew: true}, nil},
		{Change[string]{}, []topology.Header{{Key: "k", Value: []byte("v")}}},
		{Change[string]{New: "n", Old: "o", HasNew: true, HasOld: true}, []topology.Header{{Key: "a"}, {Key: "", Value: []byte{}}}},
	} {
		r := topology.Record[string, Change[string]]{Key: "key", Value: tc.ch, Timestamp: time.UnixMilli(42), Headers: tc.headers}
		var old []byte
		if tc.ch.HasOld {
			old, _ = vs.Serialize(nil, "t", tc.ch.Old)
		}
		e, err := appendSuppressEntry(nil, "t", vs, 7, r, old, tc.ch.HasOld)
		if err != nil {
			t.Fatal(err)
		}
		if bt, err := suppressEntryTime(e); err != nil || bt != 7 {
			t.Fatalf("buffer time %d, %v", bt, err)
		}
		gotOld, hasOld, err := suppressEntryOld(e)
		if err != nil || hasOld != tc.ch.HasOld || !bytes.Equal(gotOld, old) {
			t.Fatalf("old %q %v %v", gotOld, hasOld, err)
		}
		got, err := decodeSuppressEntry[string]("t", vs, e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != tc.ch || got.Timestamp.UnixMilli() != 42 || len(got.Headers) != len(tc.headers) {
			t.Fatalf("got %+v", got)
		}
		for i, h := range tc.headers {
			g := got.Headers[i]
			if g.Key != h.Key || !bytes.Equal(g.Value, h.Value) || (g.Value == nil) != (h.Value == nil) {
				t.Fatalf("header %d: %+v, want %+v", i, g, h)
			}
		}
		for n := range len(e) {
			if _, err := decodeSuppressEntry[string]("t", vs, e[:n]); err == nil {
				t.Fatalf("decoding %d of %d bytes succeeded", n, len(e))
			}
		}
	}
}
