package faults_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

// The word count example (examples/wordcount) run as a service, in a child
// process: its application ID, topics and partitions.
const (
	sigtermApp        = "wordcount-example"
	sigtermInput      = "wordcount-lines"
	sigtermOutput     = "wordcount-counts"
	sigtermPartitions = 4
	sigtermInstanceID = "wordcount-1"
)

// TestSIGTERMStopsCleanlyAndRestartResumes builds the word count example,
// runs it as a service (-serve) against an embedded broker with a fixed
// InstanceID, lets it count a first batch of lines, and sends it SIGTERM:
// it exits 0 within a bound, having committed every input offset and
// checkpointed every store, its static member still in the group. Restarted
// with the same state directory and InstanceID, it restores no record and
// counts a second batch within a few seconds: it takes its member's place
// at once, rather than after the member's session (45s) times out. The
// final counts are exact under exactly-once, complete under at-least-once.
// (The stops are clean, so at-least-once counts are exact too; only a
// failure would repeat one.)
func TestSIGTERMStopsCleanlyAndRestartResumes(t *testing.T) {
	bin := sigtermBuildWordcount(t)
	for _, eos := range []bool{false, true} {
		name := "at-least-once"
		if eos {
			name = "exactly-once"
		}
		t.Run(name, func(t *testing.T) { testSIGTERM(t, bin, eos) })
	}
}

func testSIGTERM(t *testing.T, bin string, eos bool) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: sigtermInput, Partitions: sigtermPartitions}, {Name: sigtermOutput, Partitions: sigtermPartitions},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	stateDir := t.TempDir()
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-serve", "-v",
		"-instance-id", sigtermInstanceID, "-state-dir", stateDir, "-commit-interval", "100ms"}
	if eos {
		args = append(args, "-exactly-once")
	}
	model := map[string]int64{}
	counts := sigtermCountReader(t, c)
	rng := rand.New(rand.NewPCG(1, 2))

	// First run: count a batch, wait for the group to settle, SIGTERM.
	first := sigtermStart(t, bin, args)
	sigtermProduce(ctx, t, c, rng, model, 0, 200)
	counts.waitFor(ctx, t, model, eos)
	sigtermSettled(ctx, t, c)
	stopped := first.stop(t)
	t.Logf("first run stopped: %s", stopped)
	if got := sigtermMembers(ctx, t, c); len(got) != 1 || got[0] != sigtermInstanceID {
		t.Errorf("members after SIGTERM: %q, want the static member %q still there", got, sigtermInstanceID)
	}
	// Committed: every input offset; checkpointed: every store's task.
	committed, err := c.Admin().FetchOffsets(ctx, sigtermApp)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	ends, err := c.Admin().ListEndOffsets(ctx, sigtermInput)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if got, ok := committed.Lookup(o.Topic, o.Partition); !ok || got.At != o.Offset {
			t.Errorf("committed offset of %s[%d]: %d (found: %v), want its end, %d", o.Topic, o.Partition, got.At, ok, o.Offset)
		}
	})
	checkpoints, err := filepath.Glob(filepath.Join(stateDir, sigtermApp, "*", ".checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if len(checkpoints) != sigtermPartitions {
		t.Errorf("checkpoints after SIGTERM: %q, want one per counting task (%d)", checkpoints, sigtermPartitions)
	}

	// Second run, same state directory and InstanceID: it resumes.
	began := time.Now()
	second := sigtermStart(t, bin, args)
	sigtermProduce(ctx, t, c, rng, model, 200, 200)
	counts.waitFor(ctx, t, model, eos)
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("the restart took %v to count the second batch; its static member's session would time out after 45s", took)
	}
	stopped = second.stop(t)
	t.Logf("second run stopped: %s", stopped)
	if strings.Contains(second.out.String(), "restoring store") {
		t.Errorf("the restart restored a store:\n%s", second.out.String())
	}
	m := regexp.MustCompile(`stopped: processed (\d+) records, restored (\d+),`).FindStringSubmatch(stopped)
	if m == nil {
		t.Fatalf("no metrics in %q", stopped)
	}
	if m[2] != "0" {
		t.Errorf("the restart restored %s records, want 0", m[2])
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("the restart processed no record")
	}
	counts.check(t, model, eos)
}

// sigtermBuildWordcount builds examples/wordcount into the test's
// temporary directory.
func sigtermBuildWordcount(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wordcount")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/strata-go/strata/examples/wordcount").CombinedOutput()
	if err != nil {
		t.Fatalf("build examples/wordcount: %v\n%s", err, out)
	}
	return bin
}

// sigtermChild is a running word count process and its output.
type sigtermChild struct {
	cmd  *exec.Cmd
	out  *sigtermBuffer
	done chan error
}

// sigtermStart starts bin with args; the test's end kills it if it runs.
func sigtermStart(t *testing.T, bin string, args []string) *sigtermChild {
	t.Helper()
	ch := &sigtermChild{cmd: exec.Command(bin, args...), out: &sigtermBuffer{}, done: make(chan error, 1)}
	ch.cmd.Stdout, ch.cmd.Stderr = ch.out, ch.out
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ch.done <- ch.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-ch.done:
		default:
			ch.cmd.Process.Kill()
			<-ch.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", ch.cmd.Path, ch.out.String())
		}
	})
	return ch
}

// stop sends the child SIGTERM and requires it to exit 0 within 20s. It
// returns the child's "stopped:" line.
func (ch *sigtermChild) stop(t *testing.T) string {
	t.Helper()
	sent := time.Now()
	if err := ch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch.done:
		ch.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit within 20s of SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent))
	for l := range strings.Lines(ch.out.String()) {
		if strings.HasPrefix(l, "stopped:") {
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("no \"stopped:\" line in the output")
	return ""
}

// sigtermBuffer is a child's output, written by its pipes' goroutines.
type sigtermBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *sigtermBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *sigtermBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sigtermWords is the vocabulary of the lines produced.
var sigtermWords = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa quebec romeo sierra tango")

// sigtermProduce writes n lines of random words, keyed line-<from+i>, and
// counts their words in model.
func sigtermProduce(ctx context.Context, t *testing.T, c *embedded.Cluster, rng *rand.Rand, model map[string]int64, from, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range n {
		words := make([]string, 1+rng.IntN(8))
		for j := range words {
			words[j] = sigtermWords[rng.IntN(len(sigtermWords))]
			model[words[j]]++
		}
		recs[i] = &kgo.Record{Topic: sigtermInput, Key: fmt.Appendf(nil, "line-%d", from+i), Value: []byte(strings.Join(words, " "))}
	}
	if err := c.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
}

// sigtermCounts reads the output topic, read_committed, keeping every
// word's counts in order.
type sigtermCounts struct {
	cl   *kgo.Client
	seen map[string][]int64
}

func sigtermCountReader(t *testing.T, c *embedded.Cluster) *sigtermCounts {
	t.Helper()
	cl, err := c.Client(kgo.ConsumeTopics(sigtermOutput), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &sigtermCounts{cl: cl, seen: map[string][]int64{}}
}

// complete reports whether every word's latest count is its count in model
// (exact) or at least that (not exact).
func (r *sigtermCounts) complete(model map[string]int64, exact bool) bool {
	for w, want := range model {
		s := r.seen[w]
		if len(s) == 0 || s[len(s)-1] < want || exact && s[len(s)-1] != want {
			return false
		}
	}
	return true
}

// waitFor reads counts until they reach model.
func (r *sigtermCounts) waitFor(ctx context.Context, t *testing.T, model map[string]int64, exact bool) {
	t.Helper()
	for !r.complete(model, exact) {
		fetches := r.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("counts did not reach the model: %v", ctx.Err())
		}
		fetches.EachRecord(func(rec *kgo.Record) {
			if len(rec.Value) != 8 {
				t.Errorf("count of %q is %d bytes, want 8", rec.Key, len(rec.Value))
				return
			}
			w := string(rec.Key)
			r.seen[w] = append(r.seen[w], int64(binary.BigEndian.Uint64(rec.Value)))
		})
	}
}

// check checks the counts read. Under exactly-once each word's latest
// count is its count in model, and its counts only grow (the record cache
// collapses the updates between two commits into one, so counts may be
// skipped, never repeated); under at-least-once each word's latest count
// is at least its count in model (a repeat after a failure counts a line
// again; a clean stop causes none).
func (r *sigtermCounts) check(t *testing.T, model map[string]int64, exact bool) {
	t.Helper()
	for w, want := range model {
		s := r.seen[w]
		if len(s) == 0 || s[len(s)-1] < want || exact && s[len(s)-1] != want {
			t.Errorf("%q: counts %v, want the latest to be %d", w, s, want)
			continue
		}
		for i := 1; exact && i < len(s); i++ {
			if s[i] <= s[i-1] {
				t.Errorf("%q: counts %v do not only grow", w, s)
				break
			}
		}
	}
}

// sigtermMembers returns the instance IDs of the app's group members ("-"
// for a dynamic member).
func sigtermMembers(ctx context.Context, t *testing.T, c *embedded.Cluster) []string {
	t.Helper()
	described, err := c.Admin().DescribeGroups(ctx, sigtermApp)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range described[sigtermApp].Members {
		id := "-"
		if m.InstanceID != nil {
			id = *m.InstanceID
		}
		ids = append(ids, id)
	}
	return ids
}

// sigtermSettled waits until the app's group is stable with its one member
// assigned every partition of the input and repartition topics: a SIGTERM
// then finds no rebalance in progress (a worker stopping during one leaves
// the group).
func sigtermSettled(ctx context.Context, t *testing.T, c *embedded.Cluster) {
	t.Helper()
	for {
		described, err := c.Admin().DescribeGroups(ctx, sigtermApp)
		if err != nil {
			t.Fatal(err)
		}
		g := described[sigtermApp]
		if g.State == "Stable" && len(g.Members) == 1 && len(g.AssignedPartitions()[sigtermInput]) == sigtermPartitions {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the group did not settle: state %s, %d members", g.State, len(g.Members))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
