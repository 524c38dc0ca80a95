package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/strata-go/strata/embedded"
	"github.com/strata-go/strata/examples/internal/kafkaflags"
)

// mainOutput is what the example prints with no flags, as the README shows
// it.
const mainOutput = `counted 335 words in 27 lines from wordcount-lines: 177 distinct
top 20:
  the        25
  of         22
  it         15
  was        11
  a          10
  i           8
  in          7
  and         6
  is          5
  to          5
  me          4
  or          4
  that        4
  we          4
  whenever    4
  as          3
  before      3
  little      3
  my          3
  on          3
`

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
	if stderr.Len() > 0 {
		t.Errorf("logged at warn level or above:\n%s", &stderr)
	}
}

// TestMainOnCluster runs the example three times against a cluster that
// has none of its topics, as with -brokers on a new cluster: the first run
// creates them; the second refuses the output topic holding the first's
// counts and writes nothing; the third, told to -reuse it, with a new state
// directory, restores the first's counts from the changelog and adds the
// text once more.
func TestMainOnCluster(t *testing.T) {
	c := embedded.StartForTest(t, embedded.Config{})
	brokers := []string{"-brokers", strings.Join(c.Addrs(), ","), "-top", "3"}
	runs := []struct {
		args    []string
		want    string
		wantErr error
	}{
		{args: nil, want: `counted 335 words in 27 lines from wordcount-lines: 177 distinct
top 3:
  the   25
  of    22
  it    15
`},
		{args: nil, wantErr: kafkaflags.ErrUsed},
		{args: []string{"-reuse"}, want: `counted 335 words in 27 lines from wordcount-lines: 177 distinct
top 3:
  the   50
  of    44
  it    30
`},
	}
	for i, r := range runs {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		var stdout, stderr bytes.Buffer
		args := slices.Concat(brokers, []string{"-state-dir", t.TempDir()}, r.args)
		err := run(ctx, args, &stdout, &stderr)
		cancel()
		switch {
		case r.wantErr != nil && !errors.Is(err, r.wantErr):
			t.Fatalf("run %d: %v, want %v", i+1, err, r.wantErr)
		case r.wantErr == nil && err != nil:
			t.Fatalf("run %d: %v\nstderr:\n%s", i+1, err, &stderr)
		}
		if got := stdout.String(); got != r.want {
			t.Errorf("run %d output:\n%s\nwant:\n%s", i+1, got, r.want)
		}
	}
	// The app created its internal topics with the input's partitions.
	topics, err := c.Admin().ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{InputTopic, OutputTopic, ApplicationID + "-counts-repartition", ApplicationID + "-counts-changelog"} {
		if d, ok := topics[name]; !ok || len(d.Partitions) != Partitions {
			t.Errorf("topic %q: exists %v with %d partitions, want %d", name, ok, len(d.Partitions), Partitions)
		}
	}
	// The refused run produced nothing; the others their own lines.
	ends, err := c.Admin().ListEndOffsets(t.Context(), InputTopic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if want := int64(2 * len(Lines())); total != want {
		t.Errorf("%d lines after three runs, one refused, want %d", total, want)
	}
}

func TestMainFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-top", "0"}, "-top must be positive, got 0"},
		{[]string{"-commit-interval", "0s"}, "-commit-interval must be positive, got 0s"},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"-serve"}, "-serve needs -brokers: the embedded broker would stop with the program"},
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
	for _, f := range []string{"-brokers host:port[,host:port...]", "-sasl-mechanism mechanism", "-tls-ca file", "-reuse", "-serve", "-instance-id InstanceID", "-state-dir directory"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("usage does not describe %s:\n%s", f, &stderr)
		}
	}
}
