// Package kafkaflags gives every example the same way to reach Kafka: the
// embedded broker by default, or a cluster named with -brokers, with TLS
// and SASL from flags or from the environment a deployment would set, the
// example's topics created when missing, and a refusal to reuse output
// topics that hold an earlier run's records.
//
// Flags and their environment variables (a flag given wins):
//
//	-brokers         STRATA_BROKERS         host:port[,host:port...]; empty: the embedded broker
//	-tls             STRATA_TLS             "true" to connect with TLS (implied by the three below)
//	-tls-ca          STRATA_TLS_CA          PEM file of the CAs to trust (default: the system's)
//	-tls-cert        STRATA_TLS_CERT        PEM file of the client certificate
//	-tls-key         STRATA_TLS_KEY         PEM file of the client certificate's key
//	-sasl-mechanism  STRATA_SASL_MECHANISM  PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
//	-sasl-user       STRATA_SASL_USER
//	                 STRATA_SASL_PASSWORD   (environment only: a flag would show in ps)
package kafkaflags

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/strata-go/strata/embedded"
)

// Flags are the connection's settings, registered on a flag set.
type Flags struct {
	Brokers       string
	TLS           bool
	TLSCA         string
	TLSCert       string
	TLSKey        string
	SASLMechanism string
	SASLUser      string
	// SASLPassword comes from STRATA_SASL_PASSWORD only.
	SASLPassword string
}

// Register adds the connection's flags to fs, their defaults from the
// environment (getenv, os.Getenv when nil).
func Register(fs *flag.FlagSet, getenv func(string) string) *Flags {
	if getenv == nil {
		getenv = os.Getenv
	}
	f := &Flags{SASLPassword: getenv("STRATA_SASL_PASSWORD")}
	useTLS, _ := strconv.ParseBool(getenv("STRATA_TLS"))
	fs.StringVar(&f.Brokers, "brokers", getenv("STRATA_BROKERS"), "`host:port[,host:port...]` of a Kafka cluster to use instead of the embedded broker (env STRATA_BROKERS)")
	fs.BoolVar(&f.TLS, "tls", useTLS, "connect to the brokers with TLS (env STRATA_TLS)")
	fs.StringVar(&f.TLSCA, "tls-ca", getenv("STRATA_TLS_CA"), "PEM `file` of the CAs to trust; implies -tls (env STRATA_TLS_CA)")
	fs.StringVar(&f.TLSCert, "tls-cert", getenv("STRATA_TLS_CERT"), "PEM `file` of the client certificate; implies -tls (env STRATA_TLS_CERT)")
	fs.StringVar(&f.TLSKey, "tls-key", getenv("STRATA_TLS_KEY"), "PEM `file` of the client certificate's key (env STRATA_TLS_KEY)")
	fs.StringVar(&f.SASLMechanism, "sasl-mechanism", getenv("STRATA_SASL_MECHANISM"), "SASL `mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (env STRATA_SASL_MECHANISM; password in STRATA_SASL_PASSWORD)")
	fs.StringVar(&f.SASLUser, "sasl-user", getenv("STRATA_SASL_USER"), "SASL `user` (env STRATA_SASL_USER)")
	return f
}

// ClientOptions returns the franz-go options the settings make: seed
// brokers are not among them. It checks the settings.
func (f *Flags) ClientOptions() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if f.Brokers == "" && (f.TLS || f.TLSCA != "" || f.TLSCert != "" || f.SASLMechanism != "") {
		return nil, errors.New("-tls and -sasl-mechanism need -brokers: the embedded broker uses neither")
	}
	if f.TLS || f.TLSCA != "" || f.TLSCert != "" || f.TLSKey != "" {
		cfg, err := f.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if f.SASLMechanism != "" || f.SASLUser != "" {
		m, err := f.mechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (f *Flags) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.TLSCA != "" {
		pem, err := os.ReadFile(f.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-tls-ca: no PEM certificate in %s", f.TLSCA)
		}
	}
	switch {
	case (f.TLSCert == "") != (f.TLSKey == ""):
		return nil, errors.New("-tls-cert and -tls-key go together: give both or neither")
	case f.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert, -tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (f *Flags) mechanism() (sasl.Mechanism, error) {
	if f.SASLUser == "" || f.SASLPassword == "" {
		return nil, errors.New("-sasl-mechanism needs -sasl-user and STRATA_SASL_PASSWORD")
	}
	switch strings.ToUpper(f.SASLMechanism) {
	case "PLAIN":
		return plain.Auth{User: f.SASLUser, Pass: f.SASLPassword}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: f.SASLUser, Pass: f.SASLPassword}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: f.SASLUser, Pass: f.SASLPassword}.AsSha512Mechanism(), nil
	case "":
		return nil, errors.New("-sasl-user needs -sasl-mechanism")
	default:
		return nil, fmt.Errorf("-sasl-mechanism: unknown mechanism %q (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", f.SASLMechanism)
	}
}

// Topic is a topic an example uses.
type Topic struct {
	Name       string
	Partitions int32
	// Compacted topics get cleanup.policy=compact.
	Compacted bool
	// Output topics must be empty unless the example is told to reuse
	// them (Conn.CheckUnused).
	Output bool
}

// Conn is a connection to the embedded broker or to a cluster.
type Conn struct {
	// Seeds are the brokers' addresses; Options the client options of
	// the flags (TLS, SASL), for strata.Config.ClientOptions and every
	// other client.
	Seeds    []string
	Options  []kgo.Opt
	Embedded bool
	cluster  *embedded.Cluster
	admin    *kgo.Client
}

// Connect starts the embedded broker (no -brokers) or checks the flags for
// a cluster, and creates the topics that are missing.
func (f *Flags) Connect(ctx context.Context, topics ...Topic) (*Conn, error) {
	opts, err := f.ClientOptions()
	if err != nil {
		return nil, err
	}
	c := &Conn{Options: opts}
	if f.Brokers == "" {
		cl, err := embedded.Start(ctx, embedded.Config{})
		if err != nil {
			return nil, err
		}
		c.cluster, c.Seeds, c.Embedded = cl, cl.Addrs(), true
	} else {
		c.Seeds = strings.Split(f.Brokers, ",")
	}
	if c.admin, err = c.Client(); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.admin.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("reach the brokers %s: %w", strings.Join(c.Seeds, ","), err)
	}
	if err := c.createTopics(ctx, topics); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Open is Connect, then CheckUnused unless reuse: the connection of an
// example that refuses an earlier run's output unless told -reuse.
func (f *Flags) Open(ctx context.Context, reuse bool, topics ...Topic) (*Conn, error) {
	c, err := f.Connect(ctx, topics...)
	if err != nil || reuse {
		return c, err
	}
	if err := c.CheckUnused(ctx, topics...); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Client returns a client of the brokers with the flags' options and opts.
func (c *Conn) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	all := append([]kgo.Opt{kgo.SeedBrokers(c.Seeds...)}, c.Options...)
	return kgo.NewClient(append(all, opts...)...)
}

// Admin returns an admin client of the brokers; Close closes it.
func (c *Conn) Admin() *kadm.Client { return kadm.NewClient(c.admin) }

// Close closes the admin client and stops the embedded broker.
func (c *Conn) Close() {
	if c.admin != nil {
		c.admin.Close()
	}
	if c.cluster != nil {
		c.cluster.Close()
	}
}

func (c *Conn) createTopics(ctx context.Context, topics []Topic) error {
	for _, t := range topics {
		var configs map[string]*string
		if t.Compacted {
			compact := "compact"
			configs = map[string]*string{"cleanup.policy": &compact}
		}
		resp, err := c.Admin().CreateTopic(ctx, t.Partitions, -1, configs, t.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %q: %w", t.Name, err)
		}
	}
	return nil
}

// ErrUsed is returned by CheckUnused for an output topic holding records.
var ErrUsed = errors.New("holds records of an earlier run: use a fresh cluster, or -reuse to read them too")

// CheckUnused refuses output topics that hold records.
func (c *Conn) CheckUnused(ctx context.Context, topics ...Topic) error {
	for _, t := range topics {
		if !t.Output {
			continue
		}
		ends, err := c.Admin().ListEndOffsets(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("list end offsets of %q: %w", t.Name, err)
		}
		var held int64
		ends.Each(func(lo kadm.ListedOffset) { held += lo.Offset })
		if held > 0 {
			return fmt.Errorf("topic %q %w", t.Name, ErrUsed)
		}
	}
	return nil
}

// EndOffsets returns the offset after the last record of every partition
// of topic, for kgo.ConsumePartitions: a reader from there reads only what
// is written after, not an earlier run's records.
func (c *Conn) EndOffsets(ctx context.Context, topic string) (map[string]map[int32]kgo.Offset, error) {
	listed, err := c.Admin().ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %q: %w", topic, err)
	}
	from := map[string]map[int32]kgo.Offset{topic: {}}
	listed.Each(func(o kadm.ListedOffset) { from[topic][o.Partition] = kgo.NewOffset().At(o.Offset) })
	return from, nil
}

// ReadCommitted reads topic, read_committed, up to its last stable
// offsets: every record committed so far, in each partition's order.
func (c *Conn) ReadCommitted(ctx context.Context, topic string) ([]*kgo.Record, error) {
	ends, err := c.Admin().ListCommittedOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list last stable offsets of %q: %w", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(lo kadm.ListedOffset) {
		if lo.Offset > 0 {
			left[lo.Partition] = lo.Offset
		}
	})
	if len(left) == 0 {
		return nil, nil
	}
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(left) > 0 {
		f := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %q: %w", topic, err)
		}
		f.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out, nil
}

// WaitRecords reads topic at the isolation level given until it holds n
// records or ctx ends.
func (c *Conn) WaitRecords(ctx context.Context, topic string, n int, isolation kgo.IsolationLevel) error {
	cl, err := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(isolation))
	if err != nil {
		return err
	}
	defer cl.Close()
	for got := 0; got < n; {
		f := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %d of %d records of %q: %w", got, n, topic, err)
		}
		got += f.NumRecords()
	}
	return nil
}
