package strata_test

import (
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/query"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/state"
	"github.com/strata-go/strata/topology"
)

// readAll reads every entry of a key-value handle.
func readAll[V any](ctx context.Context, t *testing.T, s *query.KeyValueStore[string, V]) map[string]V {
	t.Helper()
	it, err := s.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]V{}
	for k, v := range state.All(it, &err) {
		got[k] = v
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestViewOfTable keeps a view of a table's topic: restored when it
// starts, kept up to date (Sync shows what was just written), queryable
// with the typed API and over HTTP, and restored from its checkpoint when
// it starts again.
func TestViewOfTable(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "users", Partitions: 3}}})
	ctx := t.Context()
	row := func(k, v string) *kgo.Record {
		r := &kgo.Record{Topic: "users", Key: []byte(k)}
		if v != "" {
			r.Value = []byte(v)
		}
		return r
	}
	if err := c.Produce(ctx, row("u1", "ann"), row("u2", "bob"), row("u3", "cy"), row("u2", "bo"), row("u3", ""), row("u4", "dee")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	restored := &restoreCounter{}
	log := newStateLog()
	cfg := strata.ViewConfig{Brokers: c.Addrs(), Topic: "users", StateDir: dir, Logger: testLogger(t), RestoreListener: restored, StateListener: log.listener}
	v, err := strata.NewView(cfg, serde.String(), serde.String())
	if err != nil {
		t.Fatal(err)
	}
	users, err := query.KeyValue[string, string](v, "users")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.Get(ctx, "u1"); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("Get before Run: %v", err)
	}
	r := startView(t, v)
	log.await(t, v, strata.Running)
	if got, want := readAll(ctx, t, users), map[string]string{"u1": "ann", "u2": "bo", "u4": "dee"}; !maps.Equal(got, want) {
		t.Errorf("after restoring: %v, want %v", got, want)
	}
	if err := c.Produce(ctx, row("u1", ""), row("u5", "eve"), row("u4", "di")); err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"u2": "bo", "u4": "di", "u5": "eve"}
	if got := readAll(ctx, t, users); !maps.Equal(got, want) {
		t.Errorf("after updates: %v, want %v", got, want)
	}
	ts, err := query.KeyValue[string, state.Timestamped[string]](v, "users")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := ts.Get(ctx, "u5"); err != nil || !ok || got.Value != "eve" || got.Timestamp.IsZero() {
		t.Errorf("timestamped Get(u5) = %+v, %v, %v", got, ok, err)
	}
	md, err := users.KeyMetadata("u5")
	if err != nil || md.Active == nil || !md.Active.Local {
		t.Errorf("KeyMetadata = %+v, %v", md, err)
	}
	h, err := query.NewHandler(v, query.HandlerConfig{Stores: []query.Route{query.ServeKeyValue[string, string]("users", query.StringKeys())}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/stores/users/get?key=u4", nil))
	if body := strings.TrimSpace(rec.Body.String()); rec.Code != 200 || body != `{"key":"u4","value":"di"}` {
		t.Errorf("over HTTP: %d %s", rec.Code, body)
	}
	r.stopAndWait(t)
	if v.State() != strata.NotRunning {
		t.Errorf("state after Run: %v", v.State())
	}
	if _, _, err := users.Get(ctx, "u2"); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("Get after Run: %v", err)
	}
	if err := v.Sync(ctx); !errors.Is(err, query.ErrNotRunning) {
		t.Errorf("Sync after Run: %v", err)
	}

	// Again, from the checkpoint: nothing to restore.
	before := restored.restored
	log2 := newStateLog()
	cfg.StateListener = log2.listener
	again, err := strata.NewView(cfg, serde.String(), serde.String())
	if err != nil {
		t.Fatal(err)
	}
	startView(t, again)
	log2.await(t, again, strata.Running)
	users2, err := query.KeyValue[string, string](again, "users")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(ctx, t, users2); !maps.Equal(got, want) {
		t.Errorf("restarted: %v, want %v", got, want)
	}
	if n := restored.restored - before; n != 0 {
		t.Errorf("the restarted view restored %d records; its checkpoint covers them all", n)
	}
}

// TestViewOfChangelog keeps a view of an aggregation's changelog, outside
// the application: it shows the application's counts.
func TestViewOfChangelog(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "in", Partitions: 3}, {Name: "out", Partitions: 3}, {Name: "rows", Partitions: 1},
	}})
	ctx := t.Context()
	cfg := testConfig(t, c, "view-app")
	cfg.CommitInterval = 100 * time.Millisecond
	app, err := strata.New(queryTopology(t, func() {}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, app)
	model := map[string]int64{}
	produceCounting(ctx, t, c, model, 300, 15)
	if err := waitCounts(ctx, c, model, true); err != nil {
		t.Fatal(err)
	}
	log := newStateLog()
	v, err := strata.NewView(strata.ViewConfig{
		Brokers: c.Addrs(), Topic: strata.ChangelogTopic("view-app", "counts"), Changelog: true, Name: "counts-view",
		StateDir: t.TempDir(), Logger: testLogger(t), StateListener: log.listener,
	}, serde.String(), serde.Int64())
	if err != nil {
		t.Fatal(err)
	}
	rv := startView(t, v)
	counts, err := query.KeyValue[string, int64](v, "counts-view")
	if err != nil {
		t.Fatal(err)
	}
	log.await(t, v, strata.Running)
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(ctx, t, counts); !maps.Equal(got, model) {
		t.Errorf("view: %v, want %v", got, model)
	}
	rv.stopAndWait(t)
	r.stopAndWait(t)
}

func TestViewConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   strata.ViewConfig
	}{
		{"Topic", strata.ViewConfig{Brokers: []string{"b:9092"}}},
		{"Name", strata.ViewConfig{Brokers: []string{"b:9092"}, Topic: "t", Name: "a view"}},
		{"OnBadRecord", strata.ViewConfig{Brokers: []string{"b:9092"}, Topic: "t", OnBadRecord: topology.BadRecordDeadLetter}},
		{"Brokers", strata.ViewConfig{Topic: "t"}},
	} {
		_, err := strata.NewView(tc.cfg, serde.String(), serde.String())
		if !errors.Is(err, strata.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
	if _, err := strata.NewView[string, string](strata.ViewConfig{Brokers: []string{"b:9092"}, Topic: "t"}, nil, serde.String()); !errors.Is(err, strata.ErrInvalidConfig) {
		t.Errorf("nil serde: %v", err)
	}
}

// startView runs v until the test ends.
func startView(t *testing.T, v *strata.View) *running {
	ctx, stop := context.WithCancel(context.Background())
	r := &running{stop: stop, done: make(chan error, 1)}
	go func() { r.done <- v.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		<-r.done
	})
	return r
}
