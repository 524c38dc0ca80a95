package kafkaflags

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/embedded"
)

func parse(t *testing.T, env map[string]string, args ...string) *Flags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestBadSettings: every inconsistent setting is refused with a message
// naming the flag.
func TestBadSettings(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"-tls"}, "need -brokers"},
		{nil, []string{"-brokers", "b:9092", "-tls-cert", "c.pem"}, "-tls-cert and -tls-key go together"},
		{nil, []string{"-brokers", "b:9092", "-tls-ca", ca}, "no PEM certificate"},
		{nil, []string{"-brokers", "b:9092", "-tls-ca", filepath.Join(t.TempDir(), "missing.pem")}, "-tls-ca:"},
		{nil, []string{"-brokers", "b:9092", "-sasl-mechanism", "PLAIN", "-sasl-user", "u"}, "STRATA_SASL_PASSWORD"},
		{map[string]string{"STRATA_SASL_PASSWORD": "p"}, []string{"-brokers", "b:9092", "-sasl-mechanism", "GSSAPI", "-sasl-user", "u"}, `unknown mechanism "GSSAPI"`},
		{map[string]string{"STRATA_SASL_PASSWORD": "p"}, []string{"-brokers", "b:9092", "-sasl-user", "u"}, "needs -sasl-mechanism"},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.env, tt.args...).ClientOptions()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %q: %v, want an error containing %q", tt.env, tt.args, err, tt.want)
		}
	}
}

// TestEnvironment: the environment sets the defaults; a flag wins.
func TestEnvironment(t *testing.T) {
	env := map[string]string{"STRATA_BROKERS": "env:9092", "STRATA_TLS": "true", "STRATA_SASL_MECHANISM": "PLAIN",
		"STRATA_SASL_USER": "u", "STRATA_SASL_PASSWORD": "p"}
	f := parse(t, env, "-brokers", "flag:9092")
	if f.Brokers != "flag:9092" || !f.TLS || f.SASLMechanism != "PLAIN" || f.SASLUser != "u" || f.SASLPassword != "p" {
		t.Errorf("flags %+v", f)
	}
	opts, err := f.ClientOptions()
	if err != nil || len(opts) != 2 {
		t.Errorf("ClientOptions: %d options, %v; want TLS and SASL", len(opts), err)
	}
}

// TestTLSAndSASL connects to a broker that requires TLS and SCRAM: the
// topics are created, a record produced is read back; a wrong password
// fails Connect.
func TestTLSAndSASL(t *testing.T) {
	dir := t.TempDir()
	serverCfg, caFile := selfSigned(t, dir)
	c := embedded.StartForTest(t, embedded.Config{Options: []kfake.Opt{
		kfake.TLS(serverCfg), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "alice", "secret"),
	}})
	env := map[string]string{"STRATA_BROKERS": strings.Join(c.Addrs(), ","), "STRATA_TLS_CA": caFile,
		"STRATA_SASL_MECHANISM": "SCRAM-SHA-256", "STRATA_SASL_USER": "alice", "STRATA_SASL_PASSWORD": "secret"}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := parse(t, env).Connect(ctx, Topic{Name: "secure-out", Partitions: 2, Output: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.CheckUnused(ctx, Topic{Name: "secure-out", Output: true}); err != nil {
		t.Fatalf("CheckUnused of a new topic: %v", err)
	}
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "secure-out", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	recs, err := conn.ReadCommitted(ctx, "secure-out")
	if err != nil || len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Fatalf("ReadCommitted: %d records, %v; want the one produced", len(recs), err)
	}
	if err := conn.CheckUnused(ctx, Topic{Name: "secure-out", Output: true}); !errors.Is(err, ErrUsed) {
		t.Errorf("CheckUnused of a used topic: %v, want ErrUsed", err)
	}
	from, err := conn.EndOffsets(ctx, "secure-out")
	p := recs[0].Partition
	if err != nil || len(from["secure-out"]) != 2 || from["secure-out"][p] != kgo.NewOffset().At(1) || from["secure-out"][1-p] != kgo.NewOffset().At(0) {
		t.Errorf("EndOffsets: %v, %v; want partition %d at 1, the other at 0", from, err, p)
	}

	env["STRATA_SASL_PASSWORD"] = "wrong"
	short, cancelShort := context.WithTimeout(ctx, 20*time.Second)
	defer cancelShort()
	conn2, err := parse(t, env).Connect(short, Topic{Name: "other", Partitions: 1})
	if err == nil {
		conn2.Close()
	}
	// kfake closes the connection of a failed authentication: the error
	// is an EOF, at once, not the context's deadline.
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "reach the brokers") {
		t.Errorf("Connect with a wrong password: %v, want a refusal before the deadline", err)
	}
}

// selfSigned makes a CA-signed-by-itself certificate for 127.0.0.1 and
// returns the server's TLS config and the certificate's PEM file.
func selfSigned(t *testing.T, dir string) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafkaflags test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, file
}

// TestReadJSON: the committed records of a topic come back decoded, in
// order; a value that is not JSON is an error naming its offset.
func TestReadJSON(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "json-out", Partitions: 1}}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	type point struct{ X, Y int }
	if err := c.Produce(ctx,
		&kgo.Record{Topic: "json-out", Value: []byte(`{"X":1,"Y":2}`)},
		&kgo.Record{Topic: "json-out", Value: []byte(`{"X":3}`)},
	); err != nil {
		t.Fatal(err)
	}
	conn, err := (&Flags{Brokers: strings.Join(c.Addrs(), ",")}).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got, err := ReadJSON[point](ctx, conn, "json-out")
	if err != nil {
		t.Fatal(err)
	}
	if want := []point{{1, 2}, {3, 0}}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ReadJSON = %v, want %v", got, want)
	}

	if err := c.Produce(ctx, &kgo.Record{Topic: "json-out", Value: []byte("not json")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON[point](ctx, conn, "json-out"); err == nil || !strings.Contains(err.Error(), "json-out[0]@2") {
		t.Errorf("ReadJSON of a bad value: %v, want an error naming json-out[0]@2", err)
	}
}

// TestOpen: a used output topic is refused unless reuse; a used
// input topic is not.
func TestOpen(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{
		{Name: "fresh-in", Partitions: 1}, {Name: "fresh-out", Partitions: 1},
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	in := Topic{Name: "fresh-in", Partitions: 1}
	out := Topic{Name: "fresh-out", Partitions: 1, Output: true}
	f := &Flags{Brokers: strings.Join(c.Addrs(), ",")}
	conn, err := f.Open(ctx, false, in, out)
	if err != nil {
		t.Fatalf("Open with unused topics: %v", err)
	}
	conn.Close()
	if err := c.Produce(ctx, &kgo.Record{Topic: "fresh-in", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if conn, err = f.Open(ctx, false, in, out); err != nil {
		t.Fatalf("Open with a used input topic: %v", err)
	}
	conn.Close()
	if err := c.Produce(ctx, &kgo.Record{Topic: "fresh-out", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Open(ctx, false, in, out); !errors.Is(err, ErrUsed) || !strings.Contains(err.Error(), "fresh-out") {
		t.Errorf("Open with a used output topic: %v, want ErrUsed naming fresh-out", err)
	}
	if conn, err = f.Open(ctx, true, in, out); err != nil {
		t.Fatalf("Open with reuse: %v", err)
	}
	conn.Close()
}
