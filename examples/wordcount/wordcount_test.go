package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
)

func TestWords(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", nil},
		{"  \t ", nil},
		{"The the THE", []string{"the", "the", "the"}},
		{"It was the best of times, it was the worst of times,", []string{"it", "was", "the", "best", "of", "times", "it", "was", "the", "worst", "of", "times"}},
		{"ago—never mind", []string{"ago", "never", "mind"}},
		{"people's hats 'quoted' ' '", []string{"people's", "hats", "quoted"}},
		{"Call me Ishmael. 1851!", []string{"call", "me", "ishmael", "1851"}},
		{"Überraschung: ÇA", []string{"überraschung", "ça"}},
	}
	for _, tt := range tests {
		if got := Words(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// newDriver runs the word count in the test driver with Partitions
// partitions per topic.
func newDriver(t *testing.T, cfg testutil.Config) (*testutil.InputTopic[string, string], *testutil.OutputTopic[string, int64], *testutil.Driver) {
	t.Helper()
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ApplicationID = ApplicationID
	cfg.Partitions = map[string]int{InputTopic: Partitions, OutputTopic: Partitions}
	d := testutil.NewDriver(t, top, cfg)
	return testutil.NewInputTopic(d, InputTopic, serde.String(), serde.String()),
		testutil.NewOutputTopic(d, OutputTopic, serde.String(), serde.Int64()), d
}

// driverCounts reads every count written so far: each word's counts in
// order, checking that they are all in one partition.
func driverCounts(t *testing.T, out *testutil.OutputTopic[string, int64]) map[string][]int64 {
	t.Helper()
	got := map[string][]int64{}
	partitionOf := map[string]int32{}
	for _, r := range out.ReadAll() {
		if p, ok := partitionOf[r.Key]; ok && p != r.Partition {
			t.Errorf("%q counted in partitions %d and %d", r.Key, p, r.Partition)
		}
		partitionOf[r.Key] = r.Partition
		got[r.Key] = append(got[r.Key], r.Value)
	}
	return got
}

// TestCounts pipes a few lines through four partitions: every occurrence
// of a word raises its count by one, in order, wherever its line was.
func TestCounts(t *testing.T) {
	in, out, d := newDriver(t, testutil.Config{})
	in.Pipe("l1", "the quick brown fox")
	in.Pipe("l2", "jumps over the lazy dog")
	in.Pipe("l3", "The dog sleeps; the fox runs.")
	in.Pipe("l4", "")
	want := map[string][]int64{
		"the":    {1, 2, 3, 4},
		"quick":  {1},
		"brown":  {1},
		"fox":    {1, 2},
		"jumps":  {1},
		"over":   {1},
		"lazy":   {1},
		"dog":    {1, 2},
		"sleeps": {1},
		"runs":   {1},
	}
	if got := driverCounts(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts:\n got %v\nwant %v", got, want)
	}
	store := testutil.KeyValueStore[string, int64](d, StoreName)
	for word, counts := range want {
		if n, ok := store.Get(word); !ok || n != counts[len(counts)-1] {
			t.Errorf("store: %q = %d, %v; want %d", word, n, ok, counts[len(counts)-1])
		}
	}
	if n := len(store.All()); n != len(want) {
		t.Errorf("store holds %d words, want %d", n, len(want))
	}
	rep := testutil.NewOutputTopic(d, ApplicationID+"-"+StoreName+"-repartition", serde.String(), serde.String())
	if n := rep.Len(); n != 15 {
		t.Errorf("repartition topic holds %d records, want one per word, 15", n)
	}
}

// TestCountsText pipes the text main produces: the last count of each word
// is its number of occurrences, and with the driver's default of no cache
// every occurrence writes one count.
func TestCountsText(t *testing.T) {
	in, out, _ := newDriver(t, testutil.Config{})
	for _, r := range LineRecords() {
		in.Pipe(string(r.Key), string(r.Value))
	}
	want := Count(Lines())
	got := driverCounts(t, out)
	checkFinal(t, got, want)
	for word, counts := range got {
		for i, n := range counts {
			if n != int64(i+1) {
				t.Errorf("%q: counts %v, want 1, 2, 3, ...", word, counts)
				break
			}
		}
	}
	if len(want) != 177 || want["the"] != 25 {
		t.Errorf("the text has %d distinct words and %d \"the\"; the expected output in main_test.go needs updating", len(want), want["the"])
	}
}

// TestCountsCached runs the text with the record cache on: the driver
// commits after each line, so each word a line holds is written once per
// line, with its count after the whole line.
func TestCountsCached(t *testing.T) {
	in, out, _ := newDriver(t, testutil.Config{CacheMaxBytes: 1 << 20})
	written := 0
	for _, r := range LineRecords() {
		in.Pipe(string(r.Key), string(r.Value))
		written += len(Count([]string{string(r.Value)}))
	}
	got := driverCounts(t, out)
	checkFinal(t, got, Count(Lines()))
	n := 0
	for _, counts := range got {
		n += len(counts)
	}
	if n != written {
		t.Errorf("%d counts written, want %d: one per distinct word of each line", n, written)
	}
}

func checkFinal(t *testing.T, got map[string][]int64, want map[string]int64) {
	t.Helper()
	for _, word := range slices.Sorted(maps.Keys(want)) {
		counts := got[word]
		if len(counts) == 0 || counts[len(counts)-1] != want[word] {
			t.Errorf("%q: counts %v, want the last to be %d", word, counts, want[word])
		}
	}
	for word := range got {
		if _, ok := want[word]; !ok {
			t.Errorf("unexpected word %q", word)
		}
	}
}

// TestDescribe checks the shape of the topology: two sub-topologies joined
// by the repartition topic named after the store.
func TestDescribe(t *testing.T) {
	top, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	desc := top.Describe().String()
	for _, s := range []string{"Sub-topology: 0", "Sub-topology: 1", "counts-repartition", "stores: [counts]", "topic: wordcount-counts"} {
		if !strings.Contains(desc, s) {
			t.Errorf("Describe lacks %q:\n%s", s, desc)
		}
	}
}
