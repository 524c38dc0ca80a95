package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// mainOutput is what the example prints with no flags.
const mainOutput = `page views per minute from 2024-05-01 10:00 (UTC), final counts:
  10:00-10:01  /docs      2
  10:00-10:01  /home      4
  10:00-10:01  /pricing   2
  10:01-10:02  /docs      2
  10:01-10:02  /home      4
  10:02-10:03  /docs      1
  10:02-10:03  /home      1
  10:02-10:03  /pricing   2
  10:03-10:04  /docs      2
  10:03-10:04  /home      2
still open: 10:04-10:05 (latest view 10:04:12; it closes with the first view at 10:05:10 or later)
`

// checkDropWarnings checks that the app logged the sample's late views, and
// nothing else, at WARN: the first drop of the burst (the engine logs a
// node's drops for one reason at most once per ten seconds, with a count,
// so the second of the sample shows only if ten seconds pass before the
// app stops).
func checkDropWarnings(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	ok := len(lines) >= 1 && len(lines) <= 2 && strings.Contains(lines[0], "records=1 ")
	for _, l := range lines {
		ok = ok && strings.Contains(l, "level=WARN") && strings.Contains(l, `msg="dropping record"`) &&
			strings.Contains(l, `reason="record for expired window"`)
	}
	if !ok {
		t.Errorf("stderr: want warnings of dropped late views only, got:\n%s", stderr)
	}
}

func TestMainRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, nil, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	if got := stdout.String(); got != mainOutput {
		t.Errorf("output:\n%s\nwant:\n%s", got, mainOutput)
	}
	checkDropWarnings(t, stderr.String())
}

// TestMainOnCluster runs the example twice against a cluster that has none
// of its topics, as with -brokers on a new cluster, the second run an hour
// of event time after the first and with a new state directory: the first
// creates the topics; the second refuses the output topic holding the
// first's results, then with -reuse restores the first's state and prints
// its own hour's results only, the same counts.
func TestMainOnCluster(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	for i, start := range []string{"2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		var stdout, stderr bytes.Buffer
		args := []string{"-brokers", strings.Join(c.Addrs(), ","), "-start", start, "-state-dir", t.TempDir()}
		if i == 1 {
			err := run(ctx, args, &stdout, &stderr)
			if !errors.Is(err, kafkaflags.ErrUsed) || !strings.Contains(err.Error(), OutputTopic) {
				t.Fatalf("second run without -reuse: %v, want a refusal naming %s", err, OutputTopic)
			}
			if stdout.Len() > 0 {
				t.Errorf("second run without -reuse printed %q", &stdout)
			}
			stderr.Reset()
			args = append(args, "-reuse")
		}
		err := run(ctx, args, &stdout, &stderr)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v\nstderr:\n%s", i+1, err, &stderr)
		}
		want := mainOutput
		if i == 1 {
			want = strings.NewReplacer("2024-05-01 10:00", "2024-05-01 11:00", "10:", "11:").Replace(mainOutput)
		}
		if got := stdout.String(); got != want {
			t.Errorf("run %d output:\n%s\nwant:\n%s", i+1, got, want)
		}
		checkDropWarnings(t, stderr.String())
	}
}

func TestMainFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-start", "10:00"}, `-start: parsing time "10:00" as "2006-01-02T15:04:05Z07:00": cannot parse "10:00" as "2006"`},
		{[]string{"-start", "2024-05-01T10:00:30Z"}, "-start 2024-05-01T10:00:30Z is not a whole minute"},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
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
