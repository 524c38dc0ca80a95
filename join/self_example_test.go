package join_test

import (
	"fmt"
	"time"

	"github.com/strata-go/strata/join"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// Pair each login with the logins of the same user within a minute: a
// self-join, which with SingleStoreSelfJoin keeps the logins in one store
// instead of two. Each login also meets itself, as in Kafka Streams, and
// an earlier login meets a later one both ways.
func ExampleStreams_selfJoin() {
	b := topology.NewBuilder()
	b.Optimize(topology.SingleStoreSelfJoin)
	logins := kstream.From(b, "logins", serde.String(), serde.String())
	join.Streams(logins, logins, join.Within(time.Minute, 0), func(user, first, then string) string {
		return first + " & " + then
	}, join.Named("places")).To("out")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	for _, st := range top.Describe().Subtopologies {
		for _, n := range st.Nodes {
			if len(n.Stores) > 0 {
				fmt.Println(n.Name, n.Stores)
			}
		}
	}

	d := testutil.NewDriver(streamsExampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "logins", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "out", serde.String(), serde.String())
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	in.PipeAt("ann", "Oslo", t0)
	in.PipeAt("bob", "Rome", t0.Add(10*time.Second))
	in.PipeAt("ann", "Lima", t0.Add(30*time.Second))
	in.PipeAt("bob", "Rome", t0.Add(5*time.Minute)) // too late to pair with the first
	for _, r := range out.ReadAll() {
		fmt.Printf("%s at %s: %s\n", r.Key, r.Timestamp.Format("15:04:05"), r.Value)
	}
	// Output:
	// places-this-windowed [places-this-join-store]
	// places-merge [places-this-join-store]
	// ann at 12:00:00: Oslo & Oslo
	// bob at 12:00:10: Rome & Rome
	// ann at 12:00:30: Lima & Oslo
	// ann at 12:00:30: Oslo & Lima
	// ann at 12:00:30: Lima & Lima
	// bob at 12:05:00: Rome & Rome
}
