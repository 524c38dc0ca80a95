package ktable

import (
	"github.com/strata-go/strata/internal/dsl"
	"github.com/strata-go/strata/state"
)

// cachingStore is the DSL's default store option: tables and aggregations
// cache their rows, as Kafka Streams' DSL stores do, so repeated updates of
// a key between commits reach the changelog and downstream once.
// WithStoreOptions(state.Caching(false)) turns it off.
var cachingStore = state.Caching(true)

// storeOptions puts the DSL's defaults before the user's options, which win.
func storeOptions(o *options) []state.Option {
	return append([]state.Option{cachingStore}, o.storeOpts...)
}

// rowForwarder forwards a table's row updates, through the cache when the
// rows' store caches (see dsl.RowForwarder).
type rowForwarder[K, V any] = dsl.RowForwarder[K, V]
