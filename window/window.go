// Package window holds the types of windowed data: a [Window] of time, a key
// paired with its window ([Windowed]), and serdes for windowed keys in Kafka
// Streams' binary formats, so that windowed results and windowed changelogs
// interoperate with Kafka Streams applications.
//
// It also holds the window specs of windowed aggregations (package ktable's
// WindowedBy, SlidingWindowedBy and SessionWindowedBy): [TimeWindows]
// (tumbling and hopping), [SlidingWindows] and [SessionWindows], as Kafka
// Streams' classes of the same names.
//
// Three kinds of window share the [Window] type, with different bounds, as
// in Kafka Streams:
//
//   - Time windows (tumbling, hopping) are end-exclusive: [Start, End). A
//     record at time t belongs to the window if Start <= t < End.
//   - Sliding windows are inclusive at both ends: [Start, End], with
//     End = Start + the time difference.
//   - Session windows are inclusive at both ends: [Start, End], where Start
//     is the time of the session's first record and End that of its last.
//     A session with a single record has Start == End.
//
// Grace is always explicit: Kafka Streams' old API defaulted it to 24 hours
// minus the window size, Strata has no default. Stream time is the largest
// record timestamp the task has seen. A window closes once stream time is
// more than grace past the window's last millisecond (for sessions, more
// than grace plus the inactivity gap): a time window when
// end <= streamTime - grace, a sliding window when end < streamTime - grace,
// a session when end < streamTime - grace - gap. Records that arrive for a
// closed window are late: they are dropped, counted in the task's
// dropped-records metric and logged.
//
// Times have millisecond precision, that of Kafka record timestamps: the
// serdes and the window and session stores of package state keep
// Unix milliseconds and drop anything finer, and the durations of window
// specs are truncated to milliseconds.
package window

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/strata-go/strata/serde"
)

// Window is an interval of time. For time windows End is exclusive; for
// session windows it is inclusive (see the package documentation).
type Window struct {
	Start, End time.Time
}

// Windowed is a key together with the window it was aggregated in: the key
// of a windowed aggregation's results, Kafka Streams' Windowed<K>.
type Windowed[K any] struct {
	Key    K
	Window Window
}

// String formats w as Kafka Streams' Windowed.toString does,
// "[key@start/end]", with the window's bounds in Unix milliseconds, and the
// key as fmt's %v prints it: "[alice@1700000100000/1700000400000]".
func (w Windowed[K]) String() string {
	return fmt.Sprintf("[%v@%d/%d]", w.Key, w.Window.Start.UnixMilli(), w.Window.End.UnixMilli())
}

// WindowedSerde returns a serde for time-windowed keys in Kafka Streams'
// format (TimeWindowedSerializer): the bytes of the key, encoded with inner,
// followed by the window start as 8 big-endian bytes of Unix milliseconds.
//
// That format does not hold the window end, so keys it decodes have a zero
// Window.End. Use [TimeWindowedSerde] to decode the end too.
func WindowedSerde[K any](inner serde.Serde[K]) serde.Serde[Windowed[K]] {
	if inner == nil {
		panic("window: WindowedSerde needs a non-nil Serde")
	}
	return timeWindowedSerde[K]{inner: inner}
}

// TimeWindowedSerde is [WindowedSerde] for windows of a known size: it
// encodes the same bytes and decodes the window end as start + size (or the
// greatest representable time if that overflows, as Kafka does). It panics if
// size is less than a millisecond.
func TimeWindowedSerde[K any](inner serde.Serde[K], size time.Duration) serde.Serde[Windowed[K]] {
	if inner == nil {
		panic("window: TimeWindowedSerde needs a non-nil Serde")
	}
	if size.Milliseconds() < 1 {
		panic(fmt.Sprintf("window: TimeWindowedSerde: window size %v is less than a millisecond", size))
	}
	return timeWindowedSerde[K]{inner: inner, size: size.Milliseconds()}
}

type timeWindowedSerde[K any] struct {
	inner serde.Serde[K]
	size  int64 // ms; 0 when unknown
}

func (s timeWindowedSerde[K]) Serialize(dst []byte, topic string, w Windowed[K]) ([]byte, error) {
	b, err := s.inner.Serialize(dst, topic, w.Key)
	if err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint64(b, uint64(w.Window.Start.UnixMilli())), nil
}

func (s timeWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if data == nil {
		return w, nil
	}
	n := len(data) - 8
	if n < 0 {
		return w, fmt.Errorf("%w: a time-windowed key needs at least 8 bytes, got %d", serde.ErrInvalidLength, len(data))
	}
	k, err := s.inner.Deserialize(topic, data[:n:n])
	if err != nil {
		return w, err
	}
	start := int64(binary.BigEndian.Uint64(data[n:]))
	w.Key = k
	w.Window.Start = time.UnixMilli(start)
	if s.size > 0 {
		w.Window.End = time.UnixMilli(addMillis(start, s.size))
	}
	return w, nil
}

// SessionWindowedSerde returns a serde for session-windowed keys in Kafka
// Streams' format (SessionKeySchema, used by SessionWindowedSerializer): the
// bytes of the key, encoded with inner, followed by the session end and then
// its start, each as 8 big-endian bytes of Unix milliseconds.
func SessionWindowedSerde[K any](inner serde.Serde[K]) serde.Serde[Windowed[K]] {
	if inner == nil {
		panic("window: SessionWindowedSerde needs a non-nil Serde")
	}
	return sessionWindowedSerde[K]{inner: inner}
}

type sessionWindowedSerde[K any] struct{ inner serde.Serde[K] }

func (s sessionWindowedSerde[K]) Serialize(dst []byte, topic string, w Windowed[K]) ([]byte, error) {
	b, err := s.inner.Serialize(dst, topic, w.Key)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint64(b, uint64(w.Window.End.UnixMilli()))
	return binary.BigEndian.AppendUint64(b, uint64(w.Window.Start.UnixMilli())), nil
}

func (s sessionWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if data == nil {
		return w, nil
	}
	n := len(data) - 16
	if n < 0 {
		return w, fmt.Errorf("%w: a session-windowed key needs at least 16 bytes, got %d", serde.ErrInvalidLength, len(data))
	}
	k, err := s.inner.Deserialize(topic, data[:n:n])
	if err != nil {
		return w, err
	}
	w.Key = k
	w.Window.End = time.UnixMilli(int64(binary.BigEndian.Uint64(data[n:])))
	w.Window.Start = time.UnixMilli(int64(binary.BigEndian.Uint64(data[n+8:])))
	return w, nil
}

// addMillis returns a+b, or math.MaxInt64 if that overflows upward.
func addMillis(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
