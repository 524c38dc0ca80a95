package ktable_test

import (
	"fmt"

	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// numberedMoves numbers each user's moves, counting them in the store
// "moves".
type numberedMoves struct {
	moves state.KeyValueStore[string, int64]
}

func (m *numberedMoves) Init(ctx topology.TaskContext) error {
	s, err := state.LookupKeyValue[string, int64](ctx, "moves")
	m.moves = s
	return err
}

func (m *numberedMoves) Transform(user string, region string) (string, error) {
	n, _, err := m.moves.Get(user)
	if err != nil {
		return "", err
	}
	n++
	if err := m.moves.Put(user, n); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (move %d)", region, n), nil
}

func (m *numberedMoves) Close() error { return nil }

// TransformValues is MapValues with access to state stores: here each
// user's region is numbered with the count of the user's moves, kept in a
// store. The transformer is called once per update; the value an update
// replaces comes from the result's own store.
func ExampleTransformValues() {
	b := topology.NewBuilder()
	state.AddKeyValueStore(b, "moves", serde.String(), serde.Int64())
	users := ktable.From(b, "users", serde.String(), serde.String())
	numbered := ktable.TransformValues(users, func() ktable.ValueTransformer[string, string, string] { return &numberedMoves{} },
		ktable.WithStores("moves"), ktable.Named("numbered-regions"))
	numbered.ToStream().To("numbered-regions")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}

	d := testutil.NewDriver(exampleT{}, top, testutil.Config{}) // in a test: pass t
	in := testutil.NewInputTopic(d, "users", serde.String(), serde.String())
	out := testutil.NewOutputTopic(d, "numbered-regions", serde.String(), serde.String())
	in.Pipe("ann", "eu")
	in.Pipe("bob", "us")
	in.Pipe("ann", "us")
	for _, kv := range out.ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	// Output:
	// ann eu (move 1)
	// bob us (move 1)
	// ann us (move 2)
}
