package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/query"
)

// serveCounts serves the app's counts over HTTP at addr, with package
// query's handler: the totals per page (TotalsStore) and the counts of the
// minutes the window store still holds (StoreName: the open minute, and
// closed ones until they expire, a minute and Grace after the latest one
// began), for example
//
//	curl 'localhost:8080/stores/views-per-page/get?key=/home'
//	curl 'localhost:8080/stores/views-per-minute/windows?key=/home'
//
// It returns a function that stops serving.
func serveCounts(app *strata.App, addr string) (stop func(), err error) {
	h, err := query.NewHandler(app, query.HandlerConfig{Stores: []query.Route{
		query.ServeKeyValue[string, int64](TotalsStore, query.StringKeys()),
		query.ServeWindow[string, int64](StoreName, query.StringKeys()),
	}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-serve: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
