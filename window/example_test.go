package window_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
)

func ExampleTimeWindowedSerde() {
	// The key of a 5-minute tumbling window's result, as Kafka Streams
	// writes it: the key's bytes, then the window start.
	s := window.TimeWindowedSerde(serde.String(), 5*time.Minute)
	start := time.UnixMilli(1_700_000_100_000)
	b, _ := s.Serialize(nil, "counts", window.Windowed[string]{
		Key:    "alice",
		Window: window.Window{Start: start, End: start.Add(5 * time.Minute)},
	})
	fmt.Printf("%q % x\n", b[:5], b[5:])

	w, _ := s.Deserialize("counts", b)
	fmt.Println(w.Key, w.Window.Start.UnixMilli(), w.Window.End.UnixMilli())
	// Output:
	// "alice" 00 00 01 8b cf e6 ee a0
	// alice 1700000100000 1700000400000
}

func ExampleSessionWindowedSerde() {
	// A session key holds both ends: the key, then the end, then the start.
	s := window.SessionWindowedSerde(serde.String())
	b, _ := s.Serialize(nil, "sessions", window.Windowed[string]{
		Key:    "bob",
		Window: window.Window{Start: time.UnixMilli(1000), End: time.UnixMilli(4000)},
	})
	fmt.Printf("%q % x\n", b[:3], b[3:])
	// Output:
	// "bob" 00 00 00 00 00 00 0f a0 00 00 00 00 00 00 03 e8
}
