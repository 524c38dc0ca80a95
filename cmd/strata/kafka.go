package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/strata-go/strata/deadletter"
)

// saslPasswordEnv names the environment variable holding the SASL password:
// a password on the command line would show in the process list.
const saslPasswordEnv = "STRATA_SASL_PASSWORD"

// kafkaFlags are the flags of the commands that talk to Kafka: where the
// cluster is, how to reach it, and which application.
type kafkaFlags struct {
	brokers, app       string
	tls                bool
	tlsCA              string
	saslMech, saslUser string
}

func addKafkaFlags(fs *flag.FlagSet) *kafkaFlags {
	f := &kafkaFlags{}
	fs.StringVar(&f.brokers, "brokers", "localhost:9092", "seed brokers, `host:port[,host:port...]`")
	fs.StringVar(&f.app, "application-id", "", "the application's `ID` (Config.ApplicationID): its consumer group and the prefix of its internal topics (required)")
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS, trusting the system's certificate authorities (and --tls-ca's)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "a PEM `file` of certificate authorities to trust (implies --tls)")
	fs.StringVar(&f.saslMech, "sasl-mechanism", "", "authenticate with SASL: `plain`, scram-sha-256 or scram-sha-512 (password in $"+saslPasswordEnv+")")
	fs.StringVar(&f.saslUser, "sasl-user", "", "the SASL `user` name")
	return f
}

// check validates the flags.
func (f *kafkaFlags) check() error {
	if len(splitList(f.brokers)) == 0 {
		return errors.New("--brokers: at least one broker is needed")
	}
	if f.app == "" {
		return errors.New("--application-id is required")
	}
	if len(f.app) > 200 || strings.ContainsFunc(f.app, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		return fmt.Errorf("--application-id: %q is not an application ID (ASCII letters, digits, '.', '_' and '-', at most 200)", f.app)
	}
	switch f.saslMech {
	case "":
		if f.saslUser != "" {
			return errors.New("--sasl-user needs --sasl-mechanism")
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if f.saslUser == "" {
			return fmt.Errorf("--sasl-mechanism %s needs --sasl-user", f.saslMech)
		}
		if os.Getenv(saslPasswordEnv) == "" {
			return fmt.Errorf("--sasl-mechanism %s needs the password in $%s", f.saslMech, saslPasswordEnv)
		}
	default:
		return fmt.Errorf("--sasl-mechanism: %q is not plain, scram-sha-256 or scram-sha-512", f.saslMech)
	}
	return nil
}

// opts returns the client options the flags ask for.
func (f *kafkaFlags) opts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(splitList(f.brokers)...)}
	if f.tls || f.tlsCA != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.tlsCA != "" {
			pem, err := os.ReadFile(f.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("--tls-ca: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-ca: no certificate in %s", f.tlsCA)
			}
			cfg.RootCAs = pool
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	pass := os.Getenv(saslPasswordEnv)
	switch f.saslMech {
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: f.saslUser, Pass: pass}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: f.saslUser, Pass: pass}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: f.saslUser, Pass: pass}.AsSha512Mechanism()))
	}
	return opts, nil
}

// adminTimeout bounds a command's requests to the cluster.
const adminTimeout = 30 * time.Second

// parse parses args with fs, whose Kafka flags are f, and validates those.
func (f *kafkaFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	return f.check()
}

// connect returns an admin client for the cluster and ctx bounded by
// adminTimeout; call done, which closes the client, when finished.
func (f *kafkaFlags) connect(ctx context.Context) (adm *kadm.Client, bounded context.Context, done func(), err error) {
	opts, err := f.opts()
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
