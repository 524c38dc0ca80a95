package strata_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/benchkit"
)

// BenchmarkHandleThrough compares, on one broker per sub-benchmark as
// BenchmarkMapThrough does, a Strata map-through (In → MapValues → Out)
// with an outcome handler on In whose function succeeds (the happy path),
// and with one whose function fails each record's first attempt, so that
// every record makes one hop through the retry topic: the difference per
// record is the cost of a retry hop. At least once.
//
//	go test -run '^$' -bench HandleThrough -benchtime 1000000x .
func BenchmarkHandleThrough(b *testing.B) {
	b.Run("map", func(b *testing.B) { benchMapThrough(b, strataHandle(benchMap)) })
	b.Run("handle", func(b *testing.B) { benchMapThrough(b, strataHandle(benchHandle)) })
	b.Run("retry-once", func(b *testing.B) { benchMapThrough(b, strataHandle(benchRetryOnce)) })
}

const (
	benchMap = iota
	benchHandle
	benchRetryOnce
)

func strataHandle(kind int) func(b *testing.B, c *embedded.Cluster, n int) {
	return func(b *testing.B, c *embedded.Cluster, n int) {
		env := benchkit.Env{Cluster: c, In: "in", Out: "out", Records: n, Keys: benchKeys, StateDir: b.TempDir(),
			// kfake answers a fetch of an empty partition only at
			// the fetch's max wait: the retry topic is one.
			ClientOptions: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}}
		var err error
		if kind == benchMap {
			_, err = benchkit.MapThrough(context.Background(), env, strata.AtLeastOnce)
		} else {
			_, err = benchkit.HandleThrough(context.Background(), env, strata.AtLeastOnce, kind == benchRetryOnce)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
