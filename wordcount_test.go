package strata_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// wcPartitions is the partition count of the word count's input, and so of
// its repartition topic and changelog.
const wcPartitions = 4

// wcWords splits a line into lower-case words.
func wcWords(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !unicode.IsLetter(r) })
}

// wcTopology is the word count: lines → lower-case words → GroupBy word →
// Count (store "counts") → ToStream → word-counts. Grouping by word
// repartitions through "<app>-counts-repartition". each, if not nil, is
// called with every count written downstream.
func wcTopology(t testing.TB, each func(word string, n int64)) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	lines := kstream.From(b, "lines", serde.String(), serde.String())
	words := kstream.FlatMapValues(lines, func(_, line string) []string { return wcWords(line) })
	counts := ktable.GroupBy(words, func(_, w string) string { return w }).Count(ktable.Named("counts"))
	out := counts.ToStream()
	if each != nil {
		out = out.Peek(each)
	}
	out.To("word-counts", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// wcLines returns n lines of one to eight words from a vocabulary of 60,
// in mixed case, the same every time, and the count of each word.
func wcLines(n int) ([]*kgo.Record, map[string]int64) {
	vocab := make([]string, 60)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%c%c", 'a'+i/26, 'a'+i%26)
	}
	want := map[string]int64{}
	recs := make([]*kgo.Record, n)
	x := uint32(1)
	for i := range recs {
		var words []string
		for j := 0; j <= i%8; j++ {
			x = x*1664525 + 1013904223 // a fixed LCG: the same lines every run
			w := vocab[x>>16%uint32(len(vocab))]
			want[w]++
			if j%3 == 1 {
				w = strings.ToUpper(w)
			}
			words = append(words, w)
		}
		recs[i] = &kgo.Record{Topic: "lines", Key: fmt.Appendf(nil, "line-%04d", i), Value: []byte(strings.Join(words, ", "))}
	}
	return recs, want
}

// TestWordCountOnKafka runs a word count on four partitions of input, with
// a repartition step, on kfake, with the record cache on and off. It waits
// until every word's count has reached its total, stops the app, and reads
// the output back with a separate read_committed consumer: the last count
// of each word is exact, and nothing else was written.
func TestWordCountOnKafka(t *testing.T) {
	for _, tc := range []struct {
		name    string
		noCache bool
	}{
		{"cache", false},
		{"no cache", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const app = "wordcount"
			c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
				{Name: "lines", Partitions: wcPartitions},
				{Name: "word-counts", Partitions: wcPartitions},
			}})
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			lines, want := wcLines(400)
			var words int64
			for _, n := range want {
				words += n
			}
			if err := c.Produce(ctx, lines...); err != nil {
				t.Fatal(err)
			}

			// done closes when every word's count has reached its total.
			var mu sync.Mutex
			left := len(want)
			done := make(chan struct{})
			top := wcTopology(t, func(w string, n int64) {
				mu.Lock()
				defer mu.Unlock()
				if n == want[w] {
					if left--; left == 0 {
						close(done)
					}
				}
			})
			cfg := testConfig(t, c, app)
			cfg.DisableCache = tc.noCache
			// The cache forwards counts when it flushes, on commit:
			// commit often so that the test need not wait long.
			cfg.CommitInterval = 100 * time.Millisecond
			a, err := strata.New(top, cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := start(t, a)
			select {
			case <-done:
			case err := <-r.done:
				t.Fatalf("Run returned early: %v", err)
			case <-ctx.Done():
				mu.Lock()
				t.Fatalf("%d of %d words not counted in full", left, len(want))
			}
			r.stopAndWait(t)

			// Read back everything written.
			n := endTotal(ctx, t, c.Admin(), "word-counts")
			recs, err := c.Consume(ctx, "word-counts", int(n))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			partitionOf := map[string]int32{}
			for _, rec := range recs {
				w := string(rec.Key)
				v, err := serde.Int64().Deserialize(rec.Topic, rec.Value)
				if err != nil {
					t.Fatalf("%s: %v", w, err)
				}
				if p, ok := partitionOf[w]; ok && p != rec.Partition {
					t.Errorf("%q counted in partitions %d and %d", w, p, rec.Partition)
				}
				partitionOf[w] = rec.Partition
				if v <= got[w] {
					t.Errorf("%q: count %d after %d", w, v, got[w])
				}
				got[w] = v
			}
			for _, w := range slices.Sorted(maps.Keys(want)) {
				if got[w] != want[w] {
					t.Errorf("%q counted %d times, want %d", w, got[w], want[w])
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d words counted, want %d", len(got), len(want))
			}
			t.Logf("%d lines, %d words, %d distinct: %d counts written", len(lines), words, len(want), n)
			switch {
			case tc.noCache && n != words:
				t.Errorf("%d counts written without a cache, want one per word, %d", n, words)
			case !tc.noCache && n > words:
				t.Errorf("%d counts written with a cache, more than the %d words", n, words)
			}
			if m := a.Metrics(); m.Processed != int64(len(lines))+words || m.SkippedRecords != 0 {
				t.Errorf("Metrics() = %+v, want %d processed (lines and words) and none skipped", m, int64(len(lines))+words)
			}

			// The app created its internal topics with the input's
			// partition count.
			topics, err := c.Admin().ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{app + "-counts-repartition", app + "-counts-changelog"} {
				d, ok := topics[name]
				switch {
				case !ok:
					t.Errorf("internal topic %q was not created; topics: %v", name, topics.Names())
				case d.Err != nil:
					t.Errorf("internal topic %q: %v", name, d.Err)
				case len(d.Partitions) != wcPartitions:
					t.Errorf("internal topic %q has %d partitions, want %d", name, len(d.Partitions), wcPartitions)
				}
			}
		})
	}
}
