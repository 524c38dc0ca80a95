package main

import (
	"strings"
	"unicode"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// The topics and store of the word count.
const (
	// InputTopic holds the text, one line per record.
	InputTopic = "wordcount-lines"
	// OutputTopic receives the counts: the word as the key, its count so
	// far as the value (serde.Int64, Kafka's LongSerializer format).
	OutputTopic = "wordcount-counts"
	// StoreName names the count store, and so its changelog
	// ("<application ID>-counts-changelog") and the repartition topic
	// that groups words ("<application ID>-counts-repartition").
	StoreName = "counts"
)

// Topology builds the word count:
//
//	wordcount-lines ─▶ words ─▶ group by word ─▶ counts-repartition ─▶ count (store "counts") ─▶ to stream ─▶ wordcount-counts
//
// Grouping by word changes the key (lines are keyed by line), so the words
// go through a repartition topic: every occurrence of a word then reaches
// the one task that counts it, whichever partition its line came from.
func Topology() (*topology.Topology, error) {
	b := topology.NewBuilder()
	lines := kstream.From(b, InputTopic, serde.String(), serde.String(), kstream.Named("lines"))
	words := kstream.FlatMapValues(lines, func(_ string, line string) []string { return Words(line) },
		kstream.Named("words"))
	counts := ktable.GroupBy(words, func(_ string, word string) string { return word }).
		Count(ktable.Named(StoreName))
	counts.ToStream(ktable.Named("to-stream")).
		To(OutputTopic, kstream.WithSerdes(serde.String(), serde.Int64()), kstream.Named("to-word-counts"))
	return b.Build()
}

// Words splits a line into lower-case words: runs of letters and digits,
// keeping apostrophes inside a word ("people's") and dropping every other
// character.
func Words(line string) []string {
	fields := strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	words := fields[:0]
	for _, f := range fields {
		if w := strings.Trim(f, "'"); w != "" {
			words = append(words, w)
		}
	}
	return words
}

// Count counts the words of lines directly: the counts the topology's
// output converges to.
func Count(lines []string) map[string]int64 {
	counts := map[string]int64{}
	for _, l := range lines {
		for _, w := range Words(l) {
			counts[w]++
		}
	}
	return counts
}
