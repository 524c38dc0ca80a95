package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// passwordEnv holds the SASL password, kept off the command line.
const passwordEnv = "STRATA_SASL_PASSWORD"

// kafkaFlags are the flags of a command that connects to Kafka.
type kafkaFlags struct {
	brokers, tlsCA, saslMechanism, saslUser string
	tls                                     bool
}

// addKafkaFlags declares the connection flags on fs.
func addKafkaFlags(fs *flag.FlagSet) *kafkaFlags {
	k := &kafkaFlags{}
	brokers := os.Getenv("STRATA_BROKERS")
	if brokers == "" {
		brokers = "localhost:9092"
	}
	fs.StringVar(&k.brokers, "brokers", brokers, "Kafka seed `brokers`, comma-separated; $STRATA_BROKERS sets the default")
	fs.BoolVar(&k.tls, "tls", false, "connect with TLS, trusting the system's certificate authorities (or -tls-ca's)")
	fs.StringVar(&k.tlsCA, "tls-ca", "", "connect with TLS, trusting the PEM certificates in `file`")
	fs.StringVar(&k.saslMechanism, "sasl-mechanism", "", "authenticate with SASL `mechanism` PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, as -sasl-user with the password in $"+passwordEnv)
	fs.StringVar(&k.saslUser, "sasl-user", "", "the SASL `user`")
	return k
}

// opts returns the client options the flags say.
func (k *kafkaFlags) opts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(k.brokers, ",")...)}
	if k.tls || k.tlsCA != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if k.tlsCA != "" {
			pem, err := os.ReadFile(k.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("%w: -tls-ca: %w", errUsage, err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: -tls-ca: no PEM certificate in %s", errUsage, k.tlsCA)
			}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if k.saslMechanism == "" {
		if k.saslUser != "" {
			return nil, fmt.Errorf("%w: -sasl-user without -sasl-mechanism", errUsage)
		}
		return opts, nil
	}
	user, pass := k.saslUser, os.Getenv(passwordEnv)
	var m sasl.Mechanism
	switch strings.ToUpper(k.saslMechanism) {
	case "PLAIN":
		m = plain.Plain(func(context.Context) (plain.Auth, error) { return plain.Auth{User: user, Pass: pass}, nil })
	case "SCRAM-SHA-256":
		m = scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		m = scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	default:
		return nil, fmt.Errorf("%w: -sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", errUsage, k.saslMechanism)
	}
	return append(opts, kgo.SASL(m)), nil
}
