package strata

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/strata-go/strata/retry"
)

// The gauges of outcome handlers that only the brokers know: the records
// waiting in each handler's retry topic, and the records in the dead set
// (see Config.MeterProvider). They are read when the metrics are collected,
// with a client of the App's own while Run runs; a collection that cannot
// reach the brokers within handlerGaugeTimeout reports nothing.

// handlerGaugeTimeout bounds the requests of one collection.
const handlerGaugeTimeout = 5 * time.Second

// handlerGauges reads the handler gauges through adm, set while Run runs.
type handlerGauges struct {
	adm      atomic.Pointer[kadm.Client]
	app      string
	group    string
	deadSet  string
	handlers []string // the handlers' names
}

// observeHandlers registers the handler gauges of a's topology, if it has
// handlers.
func (a *App) observeHandlers(mp metric.MeterProvider) error {
	if !a.cfg.handlers {
		return nil
	}
	g := &handlerGauges{app: a.cfg.ApplicationID, group: a.cfg.ApplicationID, deadSet: a.cfg.DeadLetterTopic}
	for _, n := range a.top.Graph.Nodes {
		if n.DeadLetters {
			g.handlers = append(g.handlers, n.Name)
		}
	}
	a.handlerGauges = g
	meter := mp.Meter(meterName)
	waiting, err := meter.Int64ObservableGauge("strata.handler.retry.waiting", metric.WithUnit("{record}"),
		metric.WithDescription("Records waiting in an outcome handler's retry topic: offsets from the group's committed ones to the last stable ones."))
	if err != nil {
		return fmt.Errorf("strata: create metric strata.handler.retry.waiting: %w", err)
	}
	dead, err := meter.Int64ObservableGauge("strata.deadset.records", metric.WithUnit("{record}"),
		metric.WithDescription("Records the dead-letter topic holds: offsets from its start to its last stable offset."))
	if err != nil {
		return fmt.Errorf("strata: create metric strata.deadset.records: %w", err)
	}
	appAttr := attribute.String("application", g.app)
	_, err = meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		adm := g.adm.Load()
		if adm == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, handlerGaugeTimeout)
		defer cancel()
		byHandler, deadSet, err := g.read(ctx, adm)
		if err != nil {
			return fmt.Errorf("strata: read the handlers' gauges: %w", err)
		}
		for h, n := range byHandler {
			o.ObserveInt64(waiting, n, metric.WithAttributes(appAttr, attribute.String("handler", h)))
		}
		o.ObserveInt64(dead, deadSet, metric.WithAttributes(appAttr))
		return nil
	}, waiting, dead)
	if err != nil {
		return fmt.Errorf("strata: register the handlers' metrics callback: %w", err)
	}
	return nil
}

// read returns the records waiting in each handler's retry topic and the
// records in the dead set.
func (g *handlerGauges) read(ctx context.Context, adm *kadm.Client) (map[string]int64, int64, error) {
	topics := make([]string, len(g.handlers))
	for i, h := range g.handlers {
		topics[i] = retry.Topic(g.app, h)
	}
	all := append([]string{g.deadSet}, topics...)
	starts, err := adm.ListStartOffsets(ctx, all...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, all...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list last stable offsets: %w", err)
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, g.group, topics...)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("fetch the group's offsets: %w", err)
	}
	// records sums, over topic's partitions, the offsets from each
	// one's position (the start, or from a committed offset past it) to
	// its end.
	records := func(topic string, fromCommitted bool) int64 {
		var n int64
		ends.Each(func(end kadm.ListedOffset) {
			if end.Topic != topic {
				return
			}
			pos := int64(0)
			if s, ok := starts.Lookup(topic, end.Partition); ok {
				pos = s.Offset
			}
			if c, ok := committed.Lookup(topic, end.Partition); ok && fromCommitted && c.At > pos {
				pos = c.At
			}
			n += max(end.Offset-pos, 0)
		})
		return n
	}
	byHandler := make(map[string]int64, len(g.handlers))
	for i, h := range g.handlers {
		byHandler[h] = records(topics[i], true)
	}
	return byHandler, records(g.deadSet, false), nil
}

// startHandlerGauges gives the gauges a client of their own for the time
// Run runs; the returned function closes it.
func (a *App) startHandlerGauges() (stop func()) {
	g := a.handlerGauges
	if g == nil {
		return func() {}
	}
	opts := append(append([]kgo.Opt(nil), a.cfg.ClientOptions...), kgo.SeedBrokers(a.cfg.Brokers...))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		a.cfg.Logger.Warn("no client for the handlers' gauges; they report nothing", "application", a.cfg.ApplicationID, "err", err)
		return func() {}
	}
	g.adm.Store(kadm.NewClient(cl))
	return func() {
		g.adm.Store(nil)
		cl.Close()
	}
}
