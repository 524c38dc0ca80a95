package window_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/window"
)

func windows(ws []window.Window) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "[%d,%d)", w.Start.UnixMilli(), w.End.UnixMilli())
	}
	return b.String()
}

// Mirrors Kafka Streams' TimeWindowsTest windowsFor cases: epoch-aligned
// windows in order of start, none starting before the epoch.
func TestTimeWindowsFor(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		w    window.TimeWindows
		ts   int64
		want string
	}{
		{window.Tumbling(10*ms, 0), 0, "[0,10)"},
		{window.Tumbling(10*ms, 0), 9, "[0,10)"},
		{window.Tumbling(10*ms, 0), 10, "[10,20)"},
		{window.Hopping(10*ms, 5*ms, 0), 3, "[0,10)"},
		{window.Hopping(10*ms, 5*ms, 0), 5, "[0,10)[5,15)"},
		{window.Hopping(10*ms, 5*ms, 0), 12, "[5,15)[10,20)"},
		{window.Hopping(10*ms, 3*ms, 0), 10, "[3,13)[6,16)[9,19)"},
		{window.Hopping(10*ms, 3*ms, 0), 1, "[0,10)"},
		{window.Tumbling(10*ms, 0), -1, ""},
		{window.Hopping(10*ms, 20*ms, 0), 5, ""}, // invalid
		{window.Tumbling(time.Minute, time.Hour), 90_000, "[60000,120000)"},
	} {
		if got := windows(tc.w.WindowsFor(time.UnixMilli(tc.ts))); got != tc.want {
			t.Errorf("%+v.WindowsFor(%d) = %s, want %s", tc.w, tc.ts, got, tc.want)
		}
	}
}

func TestWindowSpecValidate(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		err  error
		want string // "" for valid
	}{
		{"tumbling", window.Tumbling(10*ms, 0).Validate(), ""},
		{"hopping", window.Hopping(10*ms, 10*ms, ms).Validate(), ""},
		{"zero size", window.Tumbling(0, 0).Validate(), "window size 0s must be at least a millisecond"},
		{"sub-ms size", window.Tumbling(time.Microsecond, 0).Validate(), "window size 1µs must be at least a millisecond"},
		{"negative advance", window.Hopping(10*ms, -ms, 0).Validate(), "window advance -1ms must be at least a millisecond"},
		{"advance > size", window.Hopping(10*ms, 11*ms, 0).Validate(), "window advance 11ms is larger than the window size 10ms"},
		{"negative grace", window.Tumbling(10*ms, -ms).Validate(), "grace period -1ms is negative"},
		{"literal without advance", window.TimeWindows{Size: 10 * ms}.Validate(), "window advance 0s must be at least a millisecond"},
		{"sliding", window.Sliding(10*ms, 0).Validate(), ""},
		{"sliding zero", window.Sliding(0, 0).Validate(), "sliding window time difference 0s must be at least a millisecond"},
		{"sliding negative grace", window.Sliding(ms, -ms).Validate(), "grace period -1ms is negative"},
		{"session", window.Session(ms, 0).Validate(), ""},
		{"session zero gap", window.Session(0, 0).Validate(), "session inactivity gap 0s must be at least a millisecond"},
		{"session negative grace", window.Session(ms, -ms).Validate(), "grace period -1ms is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				if tc.err != nil {
					t.Fatalf("Validate = %v, want nil", tc.err)
				}
				return
			}
			if tc.err == nil || tc.err.Error() != tc.want {
				t.Fatalf("Validate = %v, want %q", tc.err, tc.want)
			}
		})
	}
}
