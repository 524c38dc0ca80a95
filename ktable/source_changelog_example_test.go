package ktable_test

import (
	"fmt"

	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// Read a compacted topic of user e-mail addresses as a table whose store
// restores from the topic itself: the store writes no changelog topic,
// only the table's updates are produced.
func ExampleSourceAsChangelog() {
	b := topology.NewBuilder()
	emails := ktable.From(b, "user-emails", serde.String(), serde.String(),
		ktable.Named("emails"), ktable.SourceAsChangelog())
	emails.ToStream().To("email-updates")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	testutil.NewInputTopic(d, "user-emails", serde.String(), serde.String()).Pipe("ann", "ann@example.com")
	row, _ := testutil.KeyValueStore[string, string](d, "emails").Get("ann")
	fmt.Println("ann:", row)
	fmt.Println("produced:", d.ProducedTopics())
	// Output:
	// ann: ann@example.com
	// produced: [email-updates]
}
