package strata

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
)

// DeadSet returns the application's dead set (package deadletter): the
// records of its dead-letter topic, to list, replay through their outcome
// handlers' retry topics and delete, from Go or over HTTP. Mount its
// Handler on the application's HTTP server for the dead-set API:
//
//	ds, err := app.DeadSet()
//	if err != nil { ... }
//	mux.Handle("/v1/dead_set", ds.Handler())
//	mux.Handle("/v1/dead_set/", ds.Handler())
//
// It uses the App's brokers, client options (TLS, SASL), replication
// factor and logger, and its DeadLetterTopic (the default,
// "<ApplicationID>-dead-letter", when no policy sets it). It needs no
// running App: its operations create clients of their own.
func (a *App) DeadSet() (*deadletter.DeadSet, error) {
	return deadletter.Open(deadletter.Config{
		ApplicationID:     a.cfg.ApplicationID,
		Topic:             a.cfg.DeadLetterTopic,
		ReplicationFactor: a.cfg.ReplicationFactor,
		ClientOptions:     append(append([]kgo.Opt(nil), a.cfg.ClientOptions...), kgo.SeedBrokers(a.cfg.Brokers...)),
		Logger:            a.cfg.Logger,
	})
}
