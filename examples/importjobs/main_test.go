package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// childEnv, set in a child process's environment, makes the test binary
// run the program with the arguments after "--" instead of the tests.
const childEnv = "IMPORTJOBS_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		args := os.Args[slices.Index(os.Args, "--")+1:]
		err := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "importjobs:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMainRuns runs the program as `go run ./examples/importjobs` does:
// one completion per complete request, none twice.
func TestMainRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, nil, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	s := NewSample(20)
	var want strings.Builder
	printCompletions(&want, s, s.Expected())
	if got := stdout.String(); got != want.String() {
		t.Errorf("output:\n%s\nwant:\n%s", got, want.String())
	}
	if strings.Contains(stdout.String(), "MORE THAN ONCE") || !strings.Contains(stdout.String(), ": 18 completions") {
		t.Errorf("output does not report 18 completions, none twice:\n%s", &stdout)
	}
	if stderr.Len() > 0 {
		t.Errorf("logged at warn level or above:\n%s", &stderr)
	}
}

// TestMainRefusesUsedTopics: a second run on the same cluster finds the
// first's completions and refuses, unless told -reuse.
func TestMainRefusesUsedTopics(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-requests", "3", "-state-dir", t.TempDir()}
	var out bytes.Buffer
	if err := run(ctx, args, &out, &out); err != nil {
		t.Fatalf("first run: %v\n%s", err, &out)
	}
	err := run(ctx, args, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "holds records of an earlier run") {
		t.Fatalf("second run: %v, want a refusal naming the earlier run", err)
	}
}

// TestCrash runs the app in a child process (with -serve), feeds it the
// first half of a sample and kills it with SIGKILL once it has sent some
// completions (committed or not: it commits every 200ms, and a
// transaction may be open). It then restarts it with a new state
// directory (as on another machine: the progress is restored from the
// changelog, which holds nothing of an aborted transaction) and feeds it
// the rest, in which jobs of the first half are delivered again. Every
// complete request gets exactly one completion: none lost to the kill,
// none sent twice by the work redone after it, none for a duplicate job.
func TestCrash(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s := NewSample(60)
	recs := s.Records(time.Now())
	// Deliver the first half's job events again in the second half.
	for _, r := range recs[:len(recs)/2] {
		if r.Topic == JobsTopic {
			dup := *r
			recs = append(recs, &dup)
		}
	}
	args := func(commit string) []string {
		return []string{"-brokers", strings.Join(c.Addrs(), ","), "-serve", "-v", "-instance-id", "importjobs-1",
			"-state-dir", t.TempDir(), "-commit-interval", commit}
	}
	conn, err := (&kafkaflags.Flags{Brokers: strings.Join(c.Addrs(), ",")}).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	first := startChild(t, args("200ms"))
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, recs[:len(recs)/2]...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Kill once some completions are sent, uncommitted.
	if err := conn.WaitRecords(ctx, CompletionsTopic, 3, kgo.ReadUncommitted()); err != nil {
		t.Fatalf("%v\nchild's output:\n%s", err, first.out.String())
	}
	first.kill(t)

	second := startChild(t, args("100ms"))
	if err := cl.ProduceSync(ctx, recs[len(recs)/2:]...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := s.Expected()
	if err := conn.WaitRecords(ctx, CompletionsTopic, len(want), kgo.ReadCommitted()); err != nil {
		t.Fatalf("%v\nchild's output:\n%s", err, second.out.String())
	}
	second.stop(t)
	got, err := ReadCompletions(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].RequestID < got[j].RequestID })
	if !slices.Equal(got, want) {
		t.Errorf("completions after the crash:\n%v\nwant, once each:\n%v", got, want)
	}
}

// child is the program running in a child process.
type child struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

// startChild runs the program in a child process with args; the test's
// cleanup kills it if it still runs.
func startChild(t *testing.T, args []string) *child {
	t.Helper()
	ch := &child{cmd: exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...),
		out: &syncBuffer{}, done: make(chan error, 1)}
	ch.cmd.Env = append(os.Environ(), childEnv+"=1")
	ch.cmd.Stdout, ch.cmd.Stderr = ch.out, ch.out
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ch.done <- ch.cmd.Wait() }()
	t.Cleanup(func() {
		ch.cmd.Process.Kill()
		<-ch.done
		if t.Failed() {
			t.Logf("child's output:\n%s", ch.out.String())
		}
		ch.done <- nil
	})
	return ch
}

// kill kills the child with SIGKILL and waits for it to end.
func (ch *child) kill(t *testing.T) {
	t.Helper()
	if err := ch.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ch.done <- <-ch.done
}

// stop sends the child SIGTERM and requires it to exit 0 within 30s.
func (ch *child) stop(t *testing.T) {
	t.Helper()
	if err := ch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch.done:
		ch.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
}

// syncBuffer is a bytes.Buffer safe for the child's two output streams
// and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
