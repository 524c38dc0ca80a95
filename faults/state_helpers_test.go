package faults_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/internal/kv"
	"github.com/strata-go/strata/topology"
)

// Helpers of the scenarios about local state: running an app to the end of
// its input, capturing its logs and restorations, and damaging the state
// directory of a stopped app.

// runToEnd runs top with cfg until the group has committed all of "in",
// stops it cleanly and returns it.
func runToEnd(t *testing.T, c *embedded.Cluster, top *topology.Topology, cfg strata.Config) *strata.App {
	t.Helper()
	app, err := strata.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, app)
	waitCommitted(t, c, cfg.ApplicationID, "in", r.stopped)
	if _, err := r.stop(t, waitLimit); err != nil {
		t.Fatalf("Run after a clean stop: %v, want nil", err)
	}
	return app
}

// logs keeps the log records of an app, for a test to look for the ones a
// fault must cause; they also go to the test's log.
type logs struct {
	mu   sync.Mutex
	recs []logRecord
}

// logRecord is one kept log record, its attributes as text.
type logRecord struct {
	level slog.Level
	msg   string
	attrs string
}

func (r logRecord) String() string { return fmt.Sprintf("%s %s %s", r.level, r.msg, r.attrs) }

// captureLogs returns a logger for an app (INFO and above) whose records
// are kept in the returned logs and written to t.
func captureLogs(t *testing.T) (*slog.Logger, *logs) {
	l := &logs{}
	return slog.New(&logHandler{logs: l, next: logger(t, slog.LevelInfo).Handler()}), l
}

// find returns the records at level whose message contains msg.
func (l *logs) find(level slog.Level, msg string) []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRecord
	for _, r := range l.recs {
		if r.level == level && strings.Contains(r.msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

// logHandler keeps records in logs and passes them on to next.
type logHandler struct {
	logs  *logs
	next  slog.Handler
	attrs []slog.Attr
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.logs.mu.Lock()
	h.logs.recs = append(h.logs.recs, logRecord{level: r.Level, msg: r.Message, attrs: strings.TrimSpace(b.String())})
	h.logs.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{logs: h.logs, next: h.next.WithAttrs(attrs), attrs: append(slices.Clip(h.attrs), attrs...)}
}

// WithGroup keeps the group for the test's log only; the runtime logs no
// groups.
func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{logs: h.logs, next: h.next.WithGroup(name), attrs: h.attrs}
}

// restores is a strata.RestoreListener that keeps, per task, where each
// restoration started and how many records it restored.
type restores struct {
	mu      sync.Mutex
	starts  map[string][]int64
	records map[string]int64
}

func newRestores() *restores {
	return &restores{starts: map[string][]int64{}, records: map[string]int64{}}
}

func (l *restores) OnRestoreStart(task topology.TaskID, _, _ string, start, _ int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.starts[task.String()] = append(l.starts[task.String()], start)
}

func (l *restores) OnBatchRestored(topology.TaskID, string, int64, int) {}

func (l *restores) OnRestoreEnd(task topology.TaskID, _ string, records int64, _ time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records[task.String()] += records
}

// of returns the starts and restored records of task.
func (l *restores) of(task string) ([]int64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.starts[task]), l.records[task]
}

// taskDir is the state directory of task ("<subtopology>_<partition>") of
// the app configured by cfg.
func taskDir(cfg strata.Config, task string) string {
	return filepath.Join(cfg.StateDir, cfg.ApplicationID, task)
}

// withDB opens the Pebble database of a stopped app's task directory,
// runs fn on it and closes it.
func withDB(t *testing.T, dir string, fn func(db *kv.PebbleDB) error) {
	t.Helper()
	db, err := kv.OpenPebble(dir, kv.PebbleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = fn(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// flushToTables flushes the memtables of a stopped app's task database to
// a new sstable (after a clean stop the WAL holds them), with automatic
// compactions off so that the sstables stay as many as there were flushes,
// and returns the sstables' paths.
func flushToTables(t *testing.T, dir string) []string {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{DisableAutomaticCompactions: true, Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Flush()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return filesOf(t, dir, func(name string) bool { return strings.HasSuffix(name, ".sst") })
}

// compactTables compacts a stopped app's task database into its last
// level, leaving no compaction for the next open, and returns its
// sstables' paths.
func compactTables(t *testing.T, dir string) []string {
	t.Helper()
	withDB(t, dir, func(db *kv.PebbleDB) error {
		return db.Pebble().Compact(context.Background(), []byte{0}, bytes.Repeat([]byte{0xff}, 16), false)
	})
	return filesOf(t, dir, func(name string) bool { return strings.HasSuffix(name, ".sst") })
}

// quietPebble drops Pebble's log lines.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// filesOf lists the files of dir whose names match.
func filesOf(t *testing.T, dir string, match func(name string) bool) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && match(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// largest is the largest of files.
func largest(t *testing.T, files []string) string {
	t.Helper()
	var best string
	var size int64 = -1
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > size {
			best, size = f, st.Size()
		}
	}
	if best == "" {
		t.Fatal("no file to choose from")
	}
	return best
}

// garble flips every bit of path's bytes in [from, to), fractions of its
// size.
func garble(t *testing.T, path string, from, to float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := int(from * float64(len(b))); i < int(to*float64(len(b))); i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// remove deletes paths; there must be some.
func remove(t *testing.T, paths ...string) {
	t.Helper()
	if len(paths) == 0 {
		t.Fatal("nothing to remove")
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// checkpointFile is the name of a task's checkpoint in its directory.
const checkpointFile = ".checkpoint"

// moveCheckpoint adds delta to every offset of the checkpoint of a stopped
// app's task directory, in its file and in its database's record of it
// (both "strata-checkpoint 1" and a "topic offset" line per changelog), as
// a clean stop at those offsets would have left them.
func moveCheckpoint(t *testing.T, dir string, delta int64) {
	t.Helper()
	path := filepath.Join(dir, checkpointFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 || lines[0] != "strata-checkpoint 1" {
		t.Fatalf("checkpoint %s: %q", path, b)
	}
	for i, line := range lines[1:] {
		topic, off, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil {
			t.Fatalf("checkpoint %s: line %q", path, line)
		}
		lines[i+1] = fmt.Sprintf("%s %d", topic, n+delta)
	}
	moved := []byte(strings.Join(lines, "\n") + "\n")
	withDB(t, dir, func(db *kv.PebbleDB) error { return db.FlushMeta(moved) })
	if err := os.WriteFile(path, moved, 0o644); err != nil {
		t.Fatal(err)
	}
}
