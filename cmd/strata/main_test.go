package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/embedded"
)

// strata runs the command with args and returns its exit status, output
// and error output.
func strata(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpListsEveryCommandAndFlag(t *testing.T) {
	code, top, _ := strata(t, "--help")
	if code != 0 {
		t.Fatalf("strata --help exited %d", code)
	}
	_, dlq, _ := strata(t, "dlq", "--help")
	var leaves int
	var walk func(path string, cs []*command)
	walk = func(path string, cs []*command) {
		for _, c := range cs {
			p := path + " " + c.name
			if c.setup == nil {
				walk(p, c.subs)
				continue
			}
			leaves++
			_, own, _ := strata(t, append(strings.Fields(p)[1:], "--help")...)
			fs := flag.NewFlagSet(p, flag.ContinueOnError)
			c.setup(fs)
			for _, help := range []string{top, own} {
				if !strings.Contains(help, "\n  "+p+" [flags]\n") || !strings.Contains(help, c.summary) {
					t.Errorf("help does not list %q:\n%s", p, help)
				}
				fs.VisitAll(func(f *flag.Flag) {
					if !strings.Contains(help, "-"+f.Name+" ") && !strings.Contains(help, "-"+f.Name+"\n") {
						t.Errorf("help does not list %s's flag -%s:\n%s", p, f.Name, help)
					}
				})
			}
			if strings.HasPrefix(p, "strata dlq ") && !strings.Contains(dlq, p+" [flags]") {
				t.Errorf("strata dlq --help does not list %q", p)
			}
		}
	}
	walk("strata", commands)
	if leaves < 3 {
		t.Errorf("%d commands, want dlq list, replay and delete at least", leaves)
	}
	for _, args := range [][]string{{}, {"nope"}, {"dlq", "nope"}, {"dlq", "list", "-nope"}, {"dlq", "list", "extra"}, {"dlq", "list"}} {
		if code, _, _ := strata(t, args...); code != 2 {
			t.Errorf("strata %q exited %d, want 2 (usage)", args, code)
		}
	}
}

// dlqCluster starts a cluster with the dead set of application "shop":
// a (from orders[0]@1, handler charge), b (orders[0]@2, of the
// processing-error policy) and c (orders[0]@3, handler charge).
func dlqCluster(t *testing.T) (*embedded.Cluster, string) {
	c := embedded.StartForTest(t, embedded.Config{Topics: []embedded.Topic{{Name: "orders"}, {Name: "shop-dead-letter"}, {Name: "shop-charge-retry"}}})
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i, key := range []string{"a", "b", "c"} {
		d := deadletter.Record{Topic: "orders", Offset: int64(i + 1), Key: []byte(key), Value: []byte("v"), Timestamp: at,
			Reason: deadletter.ReasonRetriesExhausted, Message: "failed", Handler: "charge", Attempts: 2}
		if key == "b" {
			d.Reason, d.Handler, d.Attempts = deadletter.ReasonProcessing, "", 0
		}
		recs = append(recs, deadletter.Encode("shop-dead-letter", 1, d))
	}
	if err := c.Produce(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	return c, "-brokers=" + strings.Join(c.Addrs(), ",")
}

func TestDLQ(t *testing.T) {
	c, brokers := dlqCluster(t)
	code, out, errOut := strata(t, "dlq", "list", brokers, "-app=shop")
	want := `0@0 orders[0]@1 2026-11-22T10:00:00.000Z retries-exhausted handler=charge attempts=2: failed key="a" value="v"
0@1 orders[0]@2 2026-11-22T10:00:00.000Z processing: failed key="b" value="v"
0@2 orders[0]@3 2026-11-22T10:00:00.000Z retries-exhausted handler=charge attempts=2: failed key="c" value="v"
`
	if code != 0 || out != want {
		t.Fatalf("list = %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	code, out, _ = strata(t, "dlq", "list", brokers, "-app=shop", "-count=1", "-handler=charge")
	first, next, ok := strings.Cut(out, "\nmore: -after=")
	if code != 0 || !ok || !strings.Contains(first, `key="a"`) {
		t.Fatalf("list -count=1 = %d %q", code, out)
	}
	code, out, _ = strata(t, "dlq", "list", brokers, "-app=shop", "-handler=charge", "-after="+strings.TrimSpace(next), "-json")
	var page struct {
		Records []deadletter.Record
		More    bool
	}
	if err := json.Unmarshal([]byte(out), &page); code != 0 || err != nil || len(page.Records) != 1 || string(page.Records[0].Key) != "c" || page.More {
		t.Fatalf("list -after -json = %d %v %s", code, err, out)
	}

	// Replay c by its coordinates; then delete b, keeping a (written again
	// after b).
	if code, out, errOut := strata(t, "dlq", "replay", brokers, "-app=shop", "-partition=0", "-offset=2"); code != 0 || out != "replayed 1 records (0 kept)\n" {
		t.Errorf("replay = %d %q %s", code, out, errOut)
	}
	recs, err := c.Consume(t.Context(), "shop-charge-retry", 1)
	if err != nil || string(recs[0].Key) != "c" {
		t.Fatalf("shop-charge-retry: %v, %v", recs, err)
	}
	if code, out, errOut := strata(t, "dlq", "delete", brokers, "-app=shop", "-reason=processing", "-dry-run"); code != 0 || out != "would have deleted 1 records (1 kept)\n" {
		t.Errorf("delete -dry-run = %d %q %s", code, out, errOut)
	}
	if code, out, errOut := strata(t, "dlq", "delete", brokers, "-app=shop", "-reason=processing"); code != 0 || out != "deleted 1 records (1 kept)\n" {
		t.Errorf("delete = %d %q %s", code, out, errOut)
	}
	if code, out, _ := strata(t, "dlq", "list", brokers, "-app=shop"); code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `key="a"`) {
		t.Errorf("list after replay and delete = %d\n%s", code, out)
	}
}

// TestDLQRefusesBadInput: each bad request is a clear error, exit status 2
// or 1, and nothing is replayed or deleted.
func TestDLQRefusesBadInput(t *testing.T) {
	c, brokers := dlqCluster(t)
	_, before, _ := strata(t, "dlq", "list", brokers, "-app=shop")
	for _, tc := range []struct {
		args     []string
		code     int
		mentions string
	}{
		{[]string{"list", "-count=-1"}, 2, "count: -1 is not between 1 and 10000"},
		{[]string{"list", "-after=garbage"}, 2, "after: bad cursor"},
		{[]string{"list", "-topic=no-such-topic"}, 2, `unknown topic "no-such-topic"`},
		{[]string{"list", "-since=noon"}, 2, "since"},
		{[]string{"list", "-dead-letter-topic=no-such-dlq"}, 1, "dead-letter topic does not exist"},
		{[]string{"replay"}, 2, "say which records"},
		{[]string{"replay", "-partition=0", "-offset=99"}, 1, "no such record"},
		{[]string{"replay", "-partition=0"}, 2, "give both"},
		{[]string{"replay", "-all"}, 2, "name no outcome handler"},
		{[]string{"replay", "-count=-2"}, 2, "count: -2 is not between"},
		{[]string{"delete", "-topic=no-such-topic"}, 2, "unknown topic"},
		{[]string{"delete", "-before=AAAA"}, 2, "before: bad cursor"},
		{[]string{"delete", "-partition=3", "-offset=0"}, 1, "no such record"},
	} {
		args := append([]string{"dlq", tc.args[0], brokers, "-app=shop"}, tc.args[1:]...)
		code, out, errOut := strata(t, args...)
		if code != tc.code || !strings.Contains(errOut, tc.mentions) || out != "" {
			t.Errorf("strata %s = %d, %q, %q; want %d mentioning %q", strings.Join(tc.args, " "), code, out, errOut, tc.code, tc.mentions)
		}
	}
	if _, after, _ := strata(t, "dlq", "list", brokers, "-app=shop"); after != before {
		t.Errorf("the dead set was\n%s\nand is now\n%s", before, after)
	}
	ends, err := c.Admin().ListEndOffsets(t.Context(), "shop-charge-retry", "orders")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("%s[%d] has end offset %d, want nothing written", o.Topic, o.Partition, o.Offset)
		}
	})
}

// TestDLQConnectsWithTLSAndSASL runs list against a broker that takes TLS
// and SASL only.
func TestDLQConnectsWithTLSAndSASL(t *testing.T) {
	srv := httptest.NewTLSServer(nil) // a certificate for 127.0.0.1
	srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.TLS(&tls.Config{Certificates: srv.TLS.Certificates}), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "ops", "secret"), kfake.SeedTopics(1, "shop-dead-letter"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := "-brokers=" + strings.Join(c.ListenAddrs(), ",")
	t.Setenv(passwordEnv, "secret")
	if code, out, errOut := strata(t, "dlq", "list", brokers, "-app=shop", "-tls-ca="+ca, "-sasl-mechanism=PLAIN", "-sasl-user=ops"); code != 0 || out != "" {
		t.Errorf("list over TLS and SASL = %d %q %s", code, out, errOut)
	}
	t.Setenv(passwordEnv, "wrong")
	if code, _, errOut := strata(t, "dlq", "list", brokers, "-app=shop", "-tls-ca="+ca, "-sasl-mechanism=PLAIN", "-sasl-user=ops"); code != 1 || errOut == "" {
		t.Errorf("list with a wrong password = %d %s", code, errOut)
	}
}
