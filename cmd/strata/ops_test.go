package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	stratalib "github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// testTimeout bounds each wait on the broker or an app.
const testTimeout = 30 * time.Second

// wordCount is the classic word count: lines → words → GroupBy word →
// Count (store "counts", through "<app>-counts-repartition") → word-counts.
func wordCount(t *testing.T) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	lines := kstream.From(b, "lines", serde.String(), serde.String())
	words := kstream.FlatMapValues(lines, func(_, line string) []string {
		return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !unicode.IsLetter(r) })
	})
	ktable.GroupBy(words, func(_, w string) string { return w }).Count(ktable.Named("counts")).ToStream().
		To("word-counts", kstream.WithSerdes(serde.String(), serde.Int64()))
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// appConfig is an App's Config on c, with every update written (no record
// cache) and a quick commit interval.
func appConfig(c *embedded.Cluster, app, stateDir string) stratalib.Config {
	return stratalib.Config{
		ApplicationID:  app,
		Brokers:        c.Addrs(),
		StateDir:       stateDir,
		DisableCache:   true,
		CommitInterval: 100 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
		ClientOptions:  []kgo.Opt{kgo.FetchMaxWait(200 * time.Millisecond)},
	}
}

// running is an App running until stop.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, top *topology.Topology, cfg stratalib.Config) (*stratalib.App, *running) {
	t.Helper()
	app, err := stratalib.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- app.Run(ctx) }()
	t.Cleanup(r.stopQuietly)
	return app, r
}

func (r *running) stopQuietly() {
	r.cancel()
	err := <-r.done
	r.done <- err
}

// stop stops the app, which must stop cleanly.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return")
	}
}

// strataCmd runs the command line args, failing the test unless it
// succeeds, and returns its output.
func strataCmd(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := strata(t, args...)
	if code != 0 {
		t.Fatalf("strata %s exited %d: %s\n%s", strings.Join(args, " "), code, errOut, out)
	}
	return out
}

// readCounts reads word-counts from the offsets from (by partition; 0 when
// absent) until every word of want has reached its count, and returns each
// word's first and last count read.
func readCounts(t *testing.T, c *embedded.Cluster, from map[int32]int64, want map[string]int64) (first, last map[string]int64) {
	t.Helper()
	offsets := map[int32]kgo.Offset{}
	for p := range int32(2) {
		offsets[p] = kgo.NewOffset().At(from[p])
	}
	cl, err := c.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"word-counts": offsets}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	first, last = map[string]int64{}, map[string]int64{}
	done := func() bool {
		for w, n := range want {
			if last[w] != n {
				return false
			}
		}
		return true
	}
	for !done() {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("counts read %v, want %v", last, want)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			n, err := serde.Int64().Deserialize("word-counts", r.Value)
			if err != nil {
				t.Fatal(err)
			}
			w := string(r.Key)
			if _, ok := first[w]; !ok {
				first[w] = n
			}
			last[w] = n
			if n > want[w] {
				t.Fatalf("%q counted %d, more than its %d", w, n, want[w])
			}
		})
	}
	return first, last
}

// committedOffsets returns the group's committed offsets, by topic and
// partition.
func committedOffsets(t *testing.T, adm *kadm.Client, group string) map[string]map[int32]int64 {
	t.Helper()
	resps, err := adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	resps.Each(func(o kadm.OffsetResponse) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

// topicNames lists the cluster's topics with a new client: a client's
// metadata cache would not see topics deleted by another.
func topicNames(t *testing.T, c *embedded.Cluster) []string {
	t.Helper()
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return details.Names()
}

func endOffsets(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// waitMembers waits until the group has n members.
func waitMembers(t *testing.T, adm *kadm.Client, group string, n int) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); ; {
		groups, err := adm.DescribeGroups(context.Background(), group)
		if err == nil && len(groups[group].Members) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %q never had %d members: %v %v", group, n, groups, err)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// TestResetRebuildsWordCount runs a word count to its end, then resets it
// with `strata reset`: a dry run changes nothing; reset refuses while an
// instance runs; a reset of the stopped application moves the input
// offsets to the start, deletes the internal topics and wipes the local
// state, so that a restart counts every word again from scratch, to the
// first run's counts.
func TestResetRebuildsWordCount(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "lines", Partitions: 2}, {Name: "word-counts", Partitions: 2}}})
	adm := c.Admin()
	text := []string{
		"the quick brown fox", "jumps over the lazy dog", "the dog sleeps",
		"a fox is quick", "over and over again", "the end",
	}
	want := map[string]int64{}
	var recs []*kgo.Record
	for i, line := range text {
		for _, w := range strings.Fields(line) {
			want[w]++
		}
		recs = append(recs, &kgo.Record{Topic: "lines", Key: fmt.Appendf(nil, "line-%d", i), Value: []byte(line)})
	}
	if err := c.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := appConfig(c, "wc", stateDir)
	_, r := start(t, wordCount(t), cfg)
	_, firstRun := readCounts(t, c, nil, want)
	r.stop(t)
	if !maps.Equal(firstRun, want) {
		t.Fatalf("first run counted %v, want %v", firstRun, want)
	}
	brokers := strings.Join(c.Addrs(), ",")
	reset := []string{"reset", "--brokers", brokers, "--app", "wc", "--state-dir", stateDir}
	internal := []string{"wc-counts-changelog", "wc-counts-repartition"}

	// A dry run prints the plan and changes nothing.
	offsets, topics := committedOffsets(t, adm, "wc"), topicNames(t, c)
	out := strataCmd(t, append(reset, "--dry-run")...)
	for _, want := range []string{
		"move the offsets of input topics lines to the earliest offsets",
		fmt.Sprintf("lines[0]: %d -> 0", offsets["lines"][0]),
		fmt.Sprintf("lines[1]: %d -> 0", offsets["lines"][1]),
		"wc-counts-changelog (changelog)", "wc-counts-repartition (repartition)",
		"wipe the local state directory " + filepath.Join(stateDir, "wc") + " (exists)",
		"dry run: nothing changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run printed\n%s\nwithout %q", out, want)
		}
	}
	if got := committedOffsets(t, adm, "wc"); !equalOffsets(got, offsets) {
		t.Errorf("after a dry run the committed offsets are %v, were %v", got, offsets)
	}
	if got := topicNames(t, c); !equalSets(got, topics) {
		t.Errorf("after a dry run the topics are %v, were %v", got, topics)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "wc")); err != nil {
		t.Errorf("after a dry run the state directory: %v", err)
	}

	// It refuses while an instance runs.
	_, r = start(t, wordCount(t), cfg)
	waitMembers(t, adm, "wc", 1)
	if code, _, errOut := strata(t, reset...); code != 1 || !strings.Contains(errOut, "wc is running") {
		t.Errorf("reset while running exited %d: %s; want a refusal", code, errOut)
	}
	r.stop(t)
	if got := committedOffsets(t, adm, "wc"); !equalOffsets(got, offsets) {
		t.Errorf("after a refused reset the committed offsets are %v, were %v", got, offsets)
	}
	waitMembers(t, adm, "wc", 0)

	out = strataCmd(t, reset...)
	if !strings.Contains(out, "done: moved 2 input offsets, deleted 2 topics, wiped "+filepath.Join(stateDir, "wc")) {
		t.Errorf("reset printed\n%s", out)
	}
	got := committedOffsets(t, adm, "wc")
	if got["lines"][0] != 0 || got["lines"][1] != 0 || len(got) != 1 {
		t.Errorf("after reset the committed offsets are %v, want lines at 0 and nothing else", got)
	}
	for _, topic := range internal {
		for _, name := range topicNames(t, c) {
			if name == topic {
				t.Errorf("after reset %s still exists; reset printed\n%s", topic, out)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(stateDir, "wc")); !os.IsNotExist(err) {
		t.Errorf("after reset the state directory: %v, want it gone", err)
	}

	// A restart counts everything again, from scratch.
	mark := endOffsets(t, adm, "word-counts")
	_, r = start(t, wordCount(t), cfg)
	first, last := readCounts(t, c, mark, want)
	r.stop(t)
	if !maps.Equal(last, firstRun) {
		t.Errorf("after reset the counts are %v, want the first run's %v", last, firstRun)
	}
	for w, n := range first {
		if n != 1 {
			t.Errorf("after reset %q's first count is %d, want 1: not counted from scratch", w, n)
		}
	}
}

func equalOffsets(a, b map[string]map[int32]int64) bool {
	return maps.EqualFunc(a, b, func(x, y map[int32]int64) bool { return maps.Equal(x, y) })
}

func equalSets(a, b []string) bool {
	m := map[string]bool{}
	for _, s := range a {
		m[s] = true
	}
	for _, s := range b {
		if !m[s] {
			return false
		}
		delete(m, s)
	}
	return len(m) == 0
}

// gate blocks the app's processing at a record whose value is "pause",
// once, until released.
type gate struct {
	once    sync.Once
	paused  chan struct{}
	release chan struct{}
}

func (g *gate) pass(v string) {
	if v == "pause" {
		g.once.Do(func() {
			close(g.paused)
			<-g.release
		})
	}
}

// TestLagAndDescribe runs a map-through app with an admin endpoint and
// checks what `strata lag` and `strata describe` print of it: lags per task
// and partition from the group's committed offsets, exactly, while the app
// is held up in the middle of a partition; the topology as the app
// describes it.
func TestLagAndDescribe(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "in", Partitions: 2}, {Name: "out", Partitions: 2}}})
	adm := c.Admin()
	g := &gate{paused: make(chan struct{}), release: make(chan struct{})}
	b := topology.NewBuilder()
	kstream.MapValues(kstream.From(b, "in", serde.String(), serde.String()), func(_, v string) string {
		g.pass(v)
		return strings.ToUpper(v)
	}).To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := appConfig(c, "mapper", t.TempDir())
	cfg.AdminAddr = "127.0.0.1:0"
	cl, err := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(p int32, values ...string) {
		t.Helper()
		var recs []*kgo.Record
		for _, v := range values {
			recs = append(recs, &kgo.Record{Topic: "in", Partition: p, Value: []byte(v)})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, "a", "b", "c", "d")
	produce(1, "e", "f")
	app, r := start(t, top, cfg)
	brokers := strings.Join(c.Addrs(), ",")
	lag := []string{"lag", "--brokers", brokers, "--app", "mapper"}

	// Caught up: everything committed.
	waitCommitted(t, adm, "mapper", "in", map[int32]int64{0: 4, 1: 2})
	checkLag(t, strataCmd(t, lag...), "application mapper: 0 records behind on 2 partitions",
		[]string{"0_0", "in", "0", "4", "4", "0"}, []string{"0_1", "in", "1", "2", "2", "0"})

	// Held up at the first of five records of partition 0: nothing more
	// is committed, and partition 1 falls behind by what arrives.
	produce(0, "pause", "g", "h", "i", "j")
	select {
	case <-g.paused:
	case <-time.After(testTimeout):
		t.Fatal("the app never reached the pause")
	}
	produce(1, "k", "l", "m")
	checkLag(t, strataCmd(t, lag...), "application mapper: 8 records behind on 2 partitions",
		[]string{"0_0", "in", "0", "4", "9", "5"}, []string{"0_1", "in", "1", "2", "5", "3"})

	for format, want := range map[string]string{"text": top.Describe().String(), "dot": top.Describe().DOT(), "mermaid": top.Describe().Mermaid()} {
		out := strataCmd(t, "describe", "--admin", "http://"+app.AdminAddr(), "--format", format)
		if out != want {
			t.Errorf("describe --format %s printed\n%s\nwant\n%s", format, out, want)
		}
	}
	if out := strataCmd(t, "describe", "--admin", app.AdminAddr()); out != top.Describe().String() {
		t.Errorf("describe without a scheme printed\n%s", out)
	}
	close(g.release)
	waitCommitted(t, adm, "mapper", "in", map[int32]int64{0: 9, 1: 5})
	r.stop(t)
	// With no instance running, lag still reads the group: everything is
	// processed and committed now.
	checkLag(t, strataCmd(t, lag...), "application mapper: 0 records behind on 2 partitions",
		[]string{"0_0", "in", "0", "9", "9", "0"}, []string{"0_1", "in", "1", "5", "5", "0"})
	if out := strataCmd(t, "lag", "--brokers", brokers, "--app", "nobody"); !strings.Contains(out, "has no committed offsets") {
		t.Errorf("lag of an unknown application printed %q", out)
	}
}

// waitCommitted waits until group has committed want of topic.
func waitCommitted(t *testing.T, adm *kadm.Client, group, topic string, want map[int32]int64) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); ; {
		got := committedOffsets(t, adm, group)
		if maps.Equal(got[topic], want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offsets %v, want %s at %v", got, topic, want)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// checkLag checks lag's output: its summary line, then a header and rows
// with the fields of rows.
func checkLag(t *testing.T, out, summary string, rows ...[]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2+len(rows) || lines[0] != summary || strings.Join(strings.Fields(lines[1]), " ") != "TASK TOPIC PARTITION COMMITTED END LAG" {
		t.Fatalf("lag printed\n%s\nwant %q, a header and %d rows", out, summary, len(rows))
	}
	for i, row := range rows {
		if got := strings.Fields(lines[2+i]); strings.Join(got, " ") != strings.Join(row, " ") {
			t.Errorf("lag row %d is %q, want %q", i, got, row)
		}
	}
}

// TestTopics lists a word count's internal topics and their sizes.
func TestTopics(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "lines", Partitions: 2}, {Name: "word-counts", Partitions: 2}}})
	if err := c.Produce(context.Background(), &kgo.Record{Topic: "lines", Value: []byte("to be or not to be")}); err != nil {
		t.Fatal(err)
	}
	_, r := start(t, wordCount(t), appConfig(c, "wc", t.TempDir()))
	readCounts(t, c, nil, map[string]int64{"to": 2, "be": 2, "or": 1, "not": 1})
	r.stop(t)
	out := strataCmd(t, "topics", "--brokers", strings.Join(c.Addrs(), ","), "--app", "wc")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || lines[0] != "application wc: 2 internal topics" {
		t.Fatalf("topics printed\n%s", out)
	}
	// Each of the six words updated its count in the changelog; the
	// repartition topic, which they went through, is purged as its
	// records are committed.
	if fields := strings.Fields(lines[2]); len(fields) != 5 || strings.Join(fields[:4], " ") != "wc-counts-changelog changelog 2 6" || fields[4] == "0" || fields[4] == "?" {
		t.Errorf("topics row %q, want the changelog's 2 partitions, 6 offsets and a size", lines[2])
	}
	if fields := strings.Fields(lines[3]); len(fields) != 5 || strings.Join(fields[:3], " ") != "wc-counts-repartition repartition 2" {
		t.Errorf("topics row %q, want the repartition topic's 2 partitions", lines[3])
	}
}
