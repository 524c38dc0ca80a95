package window_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/window"
)

func ms(v int64) time.Time { return time.UnixMilli(v) }

func TestTimeWindowedSerdeBytes(t *testing.T) {
	w := window.Windowed[string]{Key: "ab", Window: window.Window{Start: ms(0x0102030405), End: ms(0x0102030405 + 100)}}
	want := []byte{'a', 'b', 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05}
	for name, s := range map[string]serde.Serde[window.Windowed[string]]{
		"WindowedSerde":     window.WindowedSerde(serde.String()),
		"TimeWindowedSerde": window.TimeWindowedSerde(serde.String(), 100*time.Millisecond),
	} {
		t.Run(name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := s.Serialize(dst, "t", w)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:6], []byte("prefix")) || !bytes.Equal(got[6:], want) {
				t.Fatalf("Serialize = % x, want prefix then % x", got, want)
			}
			back, err := s.Deserialize("t", want)
			if err != nil {
				t.Fatal(err)
			}
			if back.Key != "ab" || !back.Window.Start.Equal(w.Window.Start) {
				t.Fatalf("Deserialize = %+v", back)
			}
			if name == "WindowedSerde" && !back.Window.End.IsZero() {
				t.Fatalf("WindowedSerde cannot know the end, got %v", back.Window.End)
			}
			if name == "TimeWindowedSerde" && !back.Window.End.Equal(w.Window.End) {
				t.Fatalf("end = %v, want %v", back.Window.End, w.Window.End)
			}
		})
	}
}

func TestTimeWindowedSerdeEndOverflowIsClamped(t *testing.T) {
	s := window.TimeWindowedSerde(serde.String(), time.Hour)
	b, _ := s.Serialize(nil, "t", window.Windowed[string]{Key: "k", Window: window.Window{Start: time.UnixMilli(math.MaxInt64 - 5)}})
	w, err := s.Deserialize("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Window.End.UnixMilli(); got != math.MaxInt64 {
		t.Fatalf("end = %d, want MaxInt64", got)
	}
}

func TestSessionWindowedSerdeBytes(t *testing.T) {
	s := window.SessionWindowedSerde(serde.Int64())
	w := window.Windowed[int64]{Key: 7, Window: window.Window{Start: ms(10), End: ms(20)}}
	got, err := s.Serialize(nil, "t", w)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 10}
	if !bytes.Equal(got, want) {
		t.Fatalf("Serialize = % x, want % x (key, end, start)", got, want)
	}
	back, err := s.Deserialize("t", got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Key != 7 || back.Window.Start.UnixMilli() != 10 || back.Window.End.UnixMilli() != 20 {
		t.Fatalf("Deserialize = %+v", back)
	}
}

func TestWindowedSerdeNullAndShort(t *testing.T) {
	for name, s := range map[string]serde.Serde[window.Windowed[string]]{
		"time":    window.WindowedSerde(serde.String()),
		"session": window.SessionWindowedSerde(serde.String()),
	} {
		t.Run(name, func(t *testing.T) {
			w, err := s.Deserialize("t", nil)
			if err != nil || w.Key != "" || !w.Window.Start.IsZero() {
				t.Fatalf("null decodes to %+v, %v; want the zero value", w, err)
			}
			if _, err := s.Deserialize("t", []byte{1, 2, 3}); !errors.Is(err, serde.ErrInvalidLength) {
				t.Fatalf("short key: err = %v, want ErrInvalidLength", err)
			}
			// An empty key is valid: only the times.
			b, _ := s.Serialize(nil, "t", window.Windowed[string]{Window: window.Window{Start: ms(1), End: ms(1)}})
			if w, err := s.Deserialize("t", b); err != nil || w.Key != "" || w.Window.Start.UnixMilli() != 1 {
				t.Fatalf("empty key round trip = %+v, %v", w, err)
			}
		})
	}
}

func TestInnerErrorsPropagate(t *testing.T) {
	boom := errors.New("boom")
	inner := serde.Func(
		func(dst []byte, _ string, v string) ([]byte, error) { return nil, boom },
		func(string, []byte) (string, error) { return "", boom },
	)
	for _, s := range []serde.Serde[window.Windowed[string]]{window.WindowedSerde(inner), window.SessionWindowedSerde(inner)} {
		if _, err := s.Serialize(nil, "t", window.Windowed[string]{}); !errors.Is(err, boom) {
			t.Fatalf("Serialize err = %v", err)
		}
		if _, err := s.Deserialize("t", make([]byte, 16)); !errors.Is(err, boom) {
			t.Fatalf("Deserialize err = %v", err)
		}
	}
}

func TestConstructorsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"nil inner":     func() { window.WindowedSerde[string](nil) },
		"nil session":   func() { window.SessionWindowedSerde[string](nil) },
		"nil time":      func() { window.TimeWindowedSerde[string](nil, time.Second) },
		"zero size":     func() { window.TimeWindowedSerde(serde.String(), 0) },
		"sub-ms size":   func() { window.TimeWindowedSerde(serde.String(), time.Microsecond) },
		"negative size": func() { window.TimeWindowedSerde(serde.String(), -time.Second) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// TestWindowedString prints windowed keys as Kafka Streams' Windowed
// toString does: "[key@start/end]", bounds in Unix milliseconds.
func TestWindowedString(t *testing.T) {
	w := window.Window{Start: time.UnixMilli(1_700_000_100_000), End: time.UnixMilli(1_700_000_400_000)}
	for _, tc := range []struct {
		got  fmt.Stringer
		want string
	}{
		{window.Windowed[string]{Key: "alice", Window: w}, "[alice@1700000100000/1700000400000]"},
		{window.Windowed[int64]{Key: 42, Window: window.Window{Start: time.UnixMilli(0), End: time.UnixMilli(10)}}, "[42@0/10]"},
	} {
		if got := tc.got.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	if got := fmt.Sprint(window.Windowed[string]{Key: "bob", Window: w}); got != "[bob@1700000100000/1700000400000]" {
		t.Errorf("fmt.Sprint = %q", got)
	}
}
