package join_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/internal/testkit"
	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// streamsExampleT stands in for the *testing.T that a test passes to
// testutil.NewDriver, so that the examples can run the driver.
type streamsExampleT = testkit.T

// adsExample runs the impressions and clicks of an ad campaign, by ad ID,
// through build's join and prints what it writes to "out".
func adsExample(build func(impressions, clicks kstream.Stream[string, string])) {
	b := topology.NewBuilder()
	impressions := kstream.From(b, "impressions", serde.String(), serde.String())
	clicks := kstream.From(b, "clicks", serde.String(), serde.String())
	build(impressions, clicks)
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d := testutil.NewDriver(streamsExampleT{}, top, testutil.Config{}) // in a test: pass t
	imp := testutil.NewInputTopic(d, "impressions", serde.String(), serde.String())
	clk := testutil.NewInputTopic(d, "clicks", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	imp.PipeAt("ad-1", "shown on home", t0)
	imp.PipeAt("ad-2", "shown on cart", t0.Add(time.Second))
	clk.PipeAt("ad-1", "clicked", t0.Add(4*time.Second))
	clk.PipeAt("ad-3", "clicked", t0.Add(5*time.Second))     // no impression
	imp.PipeAt("ad-9", "shown on help", t0.Add(time.Minute)) // moves stream time on
	for _, r := range out.ReadAll() {
		fmt.Printf("%s at %s: %s\n", r.Key, r.Timestamp.Format("15:04:05"), r.Value)
	}
}

// Join ad impressions with the clicks that follow them within ten seconds.
// A result takes the later of the two times.
func ExampleStreams() {
	adsExample(func(impressions, clicks kstream.Stream[string, string]) {
		w := join.Within(10*time.Second, 0).Before(0) // clicks come after
		join.Streams(impressions, clicks, w, func(ad, imp, click string) string {
			return imp + ", then " + click
		}).To("out")
	})
	// Output:
	// ad-1 at 12:00:04: shown on home, then clicked
}

// A left join also reports the impressions that got no click, once their
// window has closed: here when the impression of ad-9 moves stream time a
// minute on.
func ExampleStreamsLeft() {
	adsExample(func(impressions, clicks kstream.Stream[string, string]) {
		w := join.Within(10*time.Second, 0).Before(0)
		join.StreamsLeft(impressions, clicks, w, func(ad, imp string, click *string) string {
			if click == nil {
				return imp + ", no click"
			}
			return imp + ", then " + *click
		}).To("out")
	})
	// Output:
	// ad-1 at 12:00:04: shown on home, then clicked
	// ad-2 at 12:00:01: shown on cart, no click
}

// An outer join reports the unmatched records of both sides: the click on
// ad-3 had no impression.
func ExampleStreamsOuter() {
	adsExample(func(impressions, clicks kstream.Stream[string, string]) {
		w := join.Within(10*time.Second, 0).Before(0)
		join.StreamsOuter(impressions, clicks, w, func(ad string, imp, click *string) string {
			switch {
			case imp == nil:
				return "unknown impression, then " + *click
			case click == nil:
				return *imp + ", no click"
			}
			return *imp + ", then " + *click
		}).To("out")
	})
	// Output:
	// ad-1 at 12:00:04: shown on home, then clicked
	// ad-2 at 12:00:01: shown on cart, no click
	// ad-3 at 12:00:05: unknown impression, then clicked
}

// Windows bound how far apart the two sides' records may be, either way,
// and how long after a window ends out-of-order records are still taken.
func ExampleWithin() {
	w := join.Within(5*time.Second, time.Second).Before(0)
	before, after := w.Bounds()
	fmt.Println(before, after, w.Grace(), w.Size())
	fmt.Println(w.Validate())
	fmt.Println(join.Within(time.Second, -time.Second).Validate())
	// Output:
	// 0s 5s 1s 5s
	// <nil>
	// invalid join windows: grace period -1s is negative
}
