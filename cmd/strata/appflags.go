package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
)

// appFlags are the flags of the commands that read or change one
// application through the Kafka cluster (lag, reset, topics): how to reach
// the cluster, and which application.
type appFlags struct {
	kafka *kafkaFlags
	app   string
}

// addAppFlags declares the flags on fs.
func addAppFlags(fs *flag.FlagSet) *appFlags {
	f := &appFlags{kafka: addKafkaFlags(fs)}
	fs.StringVar(&f.app, "app", "", "the application `ID` (Config.ApplicationID): its consumer group and the prefix of its internal topics (required)")
	return f
}

// check validates the flags, as usage errors.
func (f *appFlags) check() error {
	if len(splitList(f.kafka.brokers)) == 0 {
		return fmt.Errorf("%w: -brokers: at least one broker is needed", errUsage)
	}
	if f.app == "" {
		return fmt.Errorf("%w: -app is required", errUsage)
	}
	if len(f.app) > 200 || strings.ContainsFunc(f.app, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		return fmt.Errorf("%w: -app: %q is not an application ID (ASCII letters, digits, '.', '_' and '-', at most 200)", errUsage, f.app)
	}
	return nil
}

// adminTimeout bounds a command's requests to the cluster.
const adminTimeout = 30 * time.Second

// connect checks the flags and returns an admin client for the cluster and
// ctx bounded by adminTimeout; call done, which closes the client, when
// finished.
func (f *appFlags) connect(ctx context.Context) (adm *kadm.Client, bounded context.Context, done func(), err error) {
	if err := f.check(); err != nil {
		return nil, nil, nil, err
	}
	opts, err := f.kafka.opts()
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create Kafka client: %w", err)
	}
	bounded, cancel := context.WithTimeout(ctx, adminTimeout)
	return kadm.NewClient(cl), bounded, func() { cancel(); cl.Close() }, nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Kinds of an application's topics, as topics and reset name them.
const (
	kindRepartition  = "repartition"
	kindChangelog    = "changelog"
	kindSubscription = "foreign-key"
	kindDeadLetter   = "dead-letter"
	kindRetry        = "retry"
)

// internalKind says what the application app's topic is: a repartition
// topic, a changelog, a foreign-key join's subscription or response topic
// (the internal topics Strata creates and Kafka's reset tool deletes:
// "<app>-" followed by a name with one of their suffixes), a retry topic
// ("<app>-<handler>-retry"), or its dead-letter topic (deadLetter, by
// default "<app>-dead-letter"). ok is false for any other topic.
func internalKind(app, deadLetter, topic string) (kind string, ok bool) {
	if topic == deadLetter {
		return kindDeadLetter, true
	}
	name, ok := strings.CutPrefix(topic, app+"-")
	if !ok {
		return "", false
	}
	for _, k := range []struct{ suffix, kind string }{
		{"-repartition", kindRepartition},
		{"-changelog", kindChangelog},
		{"-subscription-registration-topic", kindSubscription},
		{"-subscription-response-topic", kindSubscription},
		{"-retry", kindRetry},
	} {
		if strings.HasSuffix(name, k.suffix) && len(name) > len(k.suffix) {
			return k.kind, true
		}
	}
	return "", false
}

// deadLetterTopic is the dead-letter topic flag's value, or the
// application's default.
func deadLetterTopic(flagValue, app string) string {
	if flagValue != "" {
		return flagValue
	}
	return deadletter.DefaultTopic(app)
}

// appTopics lists the cluster's topics that belong to the application, by
// kind.
func appTopics(ctx context.Context, adm *kadm.Client, app, deadLetter string) (map[string]string, kadm.TopicDetails, error) {
	details, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list topics: %w", err)
	}
	kinds := map[string]string{}
	for topic := range details {
		if kind, ok := internalKind(app, deadLetter, topic); ok {
			kinds[topic] = kind
		}
	}
	return kinds, details, nil
}

// listOffsets lists the offsets of topics' partitions with list (their
// starts or ends, as what says for errors).
func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), what string, topics []string) (kadm.ListedOffsets, error) {
	o, err := list(ctx, topics...)
	if err == nil {
		err = o.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the %s of %q: %w", what, topics, err)
	}
	return o, nil
}
