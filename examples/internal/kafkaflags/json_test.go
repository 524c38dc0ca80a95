package kafkaflags

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestReadJSON: the committed records of a topic come back decoded, in
// order; a value that is not JSON is an error naming its offset.
func TestReadJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := (&Flags{}).Connect(ctx, Topic{Name: "json-out", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	type point struct{ X, Y int }
	if err := cl.ProduceSync(ctx,
		&kgo.Record{Topic: "json-out", Value: []byte(`{"X":1,"Y":2}`)},
		&kgo.Record{Topic: "json-out", Value: []byte(`{"X":3}`)},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON[point](ctx, conn, "json-out")
	if err != nil {
		t.Fatal(err)
	}
	if want := []point{{1, 2}, {3, 0}}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ReadJSON = %v, want %v", got, want)
	}

	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "json-out", Value: []byte("not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON[point](ctx, conn, "json-out"); err == nil || !strings.Contains(err.Error(), "json-out[0]@2") {
		t.Errorf("ReadJSON of a bad value: %v, want an error naming json-out[0]@2", err)
	}
}
