package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// mainOutput is what the example prints with no flags.
const mainOutput = `routed 50 events from router-events:
  router-events.order.created      14
  router-events.payment.received   14
  router-events.rejected            8
  router-events.user.signup        14
rejection reasons:
     1  at "yesterday" is not an RFC 3339 time
     1  empty value
     1  invalid JSON: invalid character 'o' in literal null (expecting 'u')
     1  invalid JSON: json: cannot unmarshal string into Go struct field wireEvent.amount of type float64
     1  missing id
     1  missing user
     1  negative amount -5
     1  unknown type "refund.issued"
`

func TestMainRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-state-dir", t.TempDir()}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	if got := stdout.String(); got != mainOutput {
		t.Errorf("output:\n%s\nwant:\n%s", got, mainOutput)
	}
	if stderr.Len() > 0 {
		t.Errorf("logged at warn level or above:\n%s", &stderr)
	}
}

// TestMainOnCluster runs the example twice against a cluster that has none
// of its topics, as with -brokers on a new cluster: the first run creates
// them; a second run refuses the topics the first wrote to, and with
// -reuse runs and counts only its own events.
func TestMainOnCluster(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-n", "12", "-state-dir", t.TempDir()}
	want := `routed 12 events from router-events:
  router-events.order.created       4
  router-events.payment.received    3
  router-events.rejected            2
  router-events.user.signup         3
rejection reasons:
     1  empty value
     1  invalid JSON: invalid character 'o' in literal null (expecting 'u')
`
	runOnce := func(name string, args []string) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s", name, err, &stderr)
		}
		if got := stdout.String(); got != want {
			t.Errorf("%s output:\n%s\nwant:\n%s", name, got, want)
		}
	}
	runOnce("first run", args)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), args, &stdout, &stderr); !errors.Is(err, kafkaflags.ErrUsed) {
		t.Fatalf("second run without -reuse: %v, want %v", err, kafkaflags.ErrUsed)
	}
	runOnce("run with -reuse", append(args, "-reuse"))
	// Each run processed only its own sample: the second resumed from the
	// first's committed offsets.
	ends, err := c.Admin().ListEndOffsets(t.Context(), OutputTopics()...)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 24 {
		t.Errorf("%d output records after two runs of 12 events, want 24", total)
	}
}

func TestMainFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n must be positive, got 0"},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"-tls"}, "-tls and -sasl-mechanism need -brokers: the embedded broker uses neither"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), tt.args, &stdout, &stderr)
		if err == nil || err.Error() != tt.want {
			t.Errorf("run(%q) = %v, want %s", tt.args, err, tt.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("run(%q) printed %q", tt.args, &stdout)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "-brokers host:port[,host:port...]") {
		t.Errorf("usage does not describe -brokers:\n%s", &stderr)
	}
}
