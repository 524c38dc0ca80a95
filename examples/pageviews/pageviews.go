package main

import (
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/ktable"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
	"github.com/strata-go/strata/window"
)

// The topics, store and windows of the page-view count.
const (
	// InputTopic holds page views: the user as the key, the page as the
	// value, the time of the view as the record's timestamp.
	InputTopic = "pageviews-views"
	// OutputTopic receives one count per page and minute, once the
	// minute is over: the key is the page and the window's start in
	// Kafka Streams' windowed-key format (window.TimeWindowedSerde), the
	// value the count (serde.Int64).
	OutputTopic = "pageviews-per-minute"
	// StoreName names the window store of counts, and so its changelog
	// and the repartition topic that groups views by page.
	StoreName = "views-per-minute"
	// TotalsStore names the key-value store of every page's views so
	// far, late ones included, which -serve serves with the open
	// minutes' counts.
	TotalsStore = "views-per-page"

	// WindowSize is the length of the tumbling windows views are counted
	// in.
	WindowSize = time.Minute
	// Grace is how long after a window's end it still accepts views that
	// arrive late: a view for a window that ended more than Grace before
	// the latest view seen so far is dropped.
	Grace = 10 * time.Second
)

// KeySerde is the serde of OutputTopic's keys.
func KeySerde() serde.Serde[window.Windowed[string]] {
	return window.TimeWindowedSerde(serde.String(), WindowSize)
}

// Topology builds the page-view count:
//
//	pageviews-views ─▶ group by page ─▶ views-per-minute-repartition ─▶ count per page in 1-minute windows, 10 s grace,
//	    │                                emitted when each window closes (store "views-per-minute") ─▶ pageviews-per-minute
//	    └─▶ views-per-page-repartition ─▶ count per page, all views (store "views-per-page")
//
// Time is event time, the records' timestamps. A window closes when stream
// time (the latest timestamp seen) passes its end plus Grace: only then is
// its count written, once, final. Views that arrive out of order but within
// the grace period are counted; later ones are dropped, counted in the
// task's metrics and logged at WARN. The totals per page count every view,
// late or not; they are only read by queries (see -serve).
func Topology() (*topology.Topology, error) {
	b := topology.NewBuilder()
	views := kstream.From(b, InputTopic, serde.String(), serde.String(), kstream.Named("page-views"))
	byPage := ktable.GroupBy(views, func(_ string, page string) string { return page })
	counts := ktable.WindowedBy(byPage, window.Tumbling(WindowSize, Grace)).
		Count(ktable.Named(StoreName), ktable.EmitOnWindowClose())
	counts.ToStream(ktable.Named("to-stream")).
		To(OutputTopic, kstream.WithSerdes(KeySerde(), serde.Int64()), kstream.Named("to-page-views-per-minute"))
	byPage.Count(ktable.Named(TotalsStore))
	return b.Build()
}
