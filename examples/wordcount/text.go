package main

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Text is the text the example counts: the opening paragraphs of three
// novels in the public domain (Dickens, A Tale of Two Cities; Melville,
// Moby-Dick; Austen, Pride and Prejudice).
const Text = `It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was
the epoch of incredulity, it was the season of Light, it was the season of
Darkness, it was the spring of hope, it was the winter of despair, we had
everything before us, we had nothing before us, we were all going direct
to Heaven, we were all going direct the other way—in short, the period was
so far like the present period, that some of its noisiest authorities
insisted on its being received, for good or for evil, in the superlative
degree of comparison only.

Call me Ishmael. Some years ago—never mind how long precisely—having
little or no money in my purse, and nothing particular to interest me on
shore, I thought I would sail about a little and see the watery part of
the world. It is a way I have of driving off the spleen and regulating the
circulation. Whenever I find myself growing grim about the mouth; whenever
it is a damp, drizzly November in my soul; whenever I find myself
involuntarily pausing before coffin warehouses, and bringing up the rear
of every funeral I meet; and especially whenever my hypos get such an
upper hand of me, that it requires a strong moral principle to prevent me
from deliberately stepping into the street, and methodically knocking
people's hats off—then, I account it high time to get to sea as soon as I
can.

It is a truth universally acknowledged, that a single man in possession
of a good fortune, must be in want of a wife. However little known the
feelings or views of such a man may be on his first entering a
neighbourhood, this truth is so well fixed in the minds of the surrounding
families, that he is considered as the rightful property of some one or
other of their daughters.
`

// Lines returns the lines of Text that hold words, in order.
func Lines() []string {
	var lines []string
	for l := range strings.Lines(Text) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// LineRecords returns the records main produces: each line of Text keyed
// by its number ("line-01", "line-02", ...), so that the lines spread over
// the input topic's partitions.
func LineRecords() []*kgo.Record {
	lines := Lines()
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Topic: InputTopic, Key: fmt.Appendf(nil, "line-%02d", i+1), Value: []byte(l)}
	}
	return recs
}
