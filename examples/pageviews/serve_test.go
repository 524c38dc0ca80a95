package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/query"
)

// watchedWriter is a buffer that tells when what it holds contains a text.
type watchedWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return n, err
}

func (w *watchedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestMainServes runs the example with -serve, and queries its counts over
// HTTP once it has printed its results: the totals per page count every
// view of the sample, and the window store holds the last minutes.
func TestMainServes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	parent, interrupt := context.WithCancel(ctx)
	serving := fmt.Sprintf("serving the counts at http://%s until interrupted\n", addr)
	stdout := &watchedWriter{want: serving, seen: make(chan struct{})}
	seen := stdout.seen
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(parent, []string{"-serve", addr, "-timeout", "5s"}, stdout, &stderr) }()
	select {
	case <-seen:
	case err := <-done:
		t.Fatalf("run returned before serving: %v\nstderr:\n%s", err, &stderr)
	case <-ctx.Done():
		t.Fatalf("not serving: %v", ctx.Err())
	}

	c := query.NewClient("http://"+addr, nil)
	totals := query.NewKeyValueClient[string, int64](c, TotalsStore, query.StringKeys())
	want := map[string]int64{}
	for _, v := range Views {
		want[v.Page]++
	}
	for page, n := range want {
		got, ok, err := totals.Get(ctx, page)
		if err != nil || !ok || got != n {
			t.Errorf("views of %s: %d, %v, %v; want %d", page, got, ok, err, n)
		}
	}
	// The window store keeps a minute until a minute and Grace after its
	// start, by its own time, the latest window start (10:04): the last
	// closed minute and the open one.
	minutes := query.NewWindowClient[string, int64](c, StoreName, query.StringKeys())
	ws, err := minutes.FetchAll(ctx, DefaultStart, DefaultStart.Add(5*WindowSize))
	var held []string
	for _, w := range ws {
		held = append(held, fmt.Sprintf("%s@%s=%d", w.Key.Key, w.Key.Window.Start.UTC().Format("15:04"), w.Value))
	}
	if got, want := strings.Join(held, " "), "/docs@10:03=2 /home@10:03=2 /pricing@10:04=1"; err != nil || got != want {
		t.Errorf("windows held: %s, %v; want %s", got, err, want)
	}
	// The server keeps running past -timeout, until interrupted.
	select {
	case err := <-done:
		t.Fatalf("run returned while serving: %v", err)
	default:
	}
	interrupt()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	if got := stdout.String(); got != mainOutput+serving {
		t.Errorf("output:\n%s\nwant:\n%s", got, mainOutput+serving)
	}
	checkDropWarnings(t, stderr.String())
}
