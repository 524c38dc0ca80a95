package strata_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/benchkit"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Shape of BenchmarkWordCount's input.
const (
	benchWordsPerLine = 10
	benchVocabulary   = 10_000
)

// BenchmarkWordCount moves b.N preloaded lines (8 partitions, 10k keys,
// ten words each from a vocabulary of 10k) through a word count on kfake,
// at least once, with Strata's default configuration (a 10 MiB record
// cache, commits every 5 s): lines → words → repartition by word → count
// in a Pebble store with a changelog → counts to "out". It stops once every
// word has been counted; Run then flushes the cache and commits, and the
// time includes that. The baseline, in the same run on an identical
// broker, is plainLoop: one franz-go client consuming the same lines and
// producing each, upper-cased, to "out".
//
// records/s is input lines per second for both; words/s, for the word
// count, is ten times that. strata-2-workers runs the word count on an
// instance of two workers (Config.Workers), each a member of the group.
//
//	go test -run '^$' -bench WordCount -benchtime 200000x -count 3 .
func BenchmarkWordCount(b *testing.B) {
	b.Run("franz-go", func(b *testing.B) { benchWordCount(b, plainLoop) })
	b.Run("strata", func(b *testing.B) {
		benchWordCount(b, strataWordCount(1))
		b.ReportMetric(float64(b.N*benchWordsPerLine)/b.Elapsed().Seconds(), "words/s")
	})
	b.Run("strata-2-workers", func(b *testing.B) {
		benchWordCount(b, strataWordCount(2))
		b.ReportMetric(float64(b.N*benchWordsPerLine)/b.Elapsed().Seconds(), "words/s")
	})
}

func benchWordCount(b *testing.B, run func(b *testing.B, c *embedded.Cluster, n int)) {
	benchOnKafka(b, preloadLines, run)
}

// preloadLines writes n lines of benchWordsPerLine words to "in", keyed by
// 10k distinct keys, the words cycling through the vocabulary so that each
// is counted about as often as any other.
func preloadLines(b *testing.B, c *embedded.Cluster, n int) {
	var line []byte
	err := benchkit.ProduceAll(context.Background(), c, n, func(i int) *kgo.Record {
		line = line[:0]
		for j := range benchWordsPerLine {
			if j > 0 {
				line = append(line, ' ')
			}
			// Word k of the input is w(7919·k mod 10k): 7919
			// is prime to 10k, so every word comes once in
			// each 10k words, in a scattered order.
			line = fmt.Appendf(line, "w%04d", (i*benchWordsPerLine*7919+j*7919)%benchVocabulary)
		}
		return &kgo.Record{Topic: "in", Key: benchkit.Key(i, benchKeys), Value: append([]byte(nil), line...)}
	})
	if err != nil {
		b.Fatal(err)
	}
}

// strataWordCount runs the word count as a Strata app until every word of
// n lines has been counted. It groups with SelectKey and Repartition rather
// than GroupBy, which is the same topology, so that a Peek between the
// repartition topic and the count can tell when the last word arrives.
// strataWordCount runs the word count on an App of the given workers.
func strataWordCount(workers int) func(b *testing.B, c *embedded.Cluster, n int) {
	return func(b *testing.B, c *embedded.Cluster, n int) { strataWordCountOn(b, c, n, workers) }
}

func strataWordCountOn(b *testing.B, c *embedded.Cluster, n, workers int) {
	words := int64(n) * benchWordsPerLine
	var counted atomic.Int64
	done := make(chan struct{})
	bld := topology.NewBuilder()
	lines := kstream.From(bld, "in", serde.String(), serde.String())
	split := kstream.FlatMapValues(lines, func(_, line string) []string { return strings.Fields(line) })
	byWord := kstream.SelectKey(split, func(_, w string) string { return w }).
		Repartition(kstream.Named("counts")).
		Peek(func(string, string) {
			if counted.Add(1) == words {
				close(done)
			}
		})
	ktable.GroupByKey(byWord).Count(ktable.Named("counts")).
		ToStream().To("out", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	app, err := strata.New(top, strata.Config{
		ApplicationID: "bench-wordcount",
		Brokers:       c.Addrs(),
		Workers:       workers,
		StateDir:      b.TempDir(),
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("app stopped early: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if m := app.Metrics(); m.Processed != int64(n)+words {
		b.Fatalf("processed %d records, want %d lines and %d words", m.Processed, n, words)
	}
}
