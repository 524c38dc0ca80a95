package kstream_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/retry"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/testutil"
	"github.com/strata-go/strata/topology"
)

// An outcome handler calling a webhook that fails twice before it answers:
// the record is retried after 1s, then 2s (the driver holds each retry
// until its wall clock passes the due time), and succeeds on its third
// call. A record the function refuses goes to the dead set at once; one it
// skips is done.
func ExampleStream_Handle() {
	var d *testutil.Driver
	failures := 0
	send := func(ctx context.Context, id, event string) kstream.Outcome {
		fmt.Printf("%s: %s %s attempt %d\n", d.WallClockTime().UTC().Format("05.000"), id, event, kstream.Attempt(ctx))
		switch {
		case event == "ping":
			return kstream.Skip()
		case event == "":
			return kstream.DeadLetter("empty event")
		case failures < 2:
			failures++
			return kstream.Retry(errors.New("webhook: 503"))
		}
		return kstream.Success()
	}
	b := topology.NewBuilder()
	kstream.From(b, "events", serde.String(), serde.String()).Handle("webhook", send,
		kstream.WithRetry(retry.Policy{Backoff: retry.Exponential(time.Second, 2), MaxAttempts: 5}))
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d = testutil.NewDriver(exampleT{}, top, testutil.Config{ApplicationID: "hooks"})
	in := testutil.NewInputTopic(d, "events", serde.String(), serde.String())
	in.Pipe("e1", "signup")
	in.Pipe("e2", "ping")
	in.Pipe("e3", "")
	d.AdvanceWallClockTime(time.Second)
	d.AdvanceWallClockTime(2 * time.Second)
	for _, r := range testutil.NewOutputTopic(d, "hooks-dead-letter", serde.String(), serde.String()).ReadAll() {
		attempts := ""
		for _, h := range r.Headers {
			if h.Key == retry.HeaderAttempts {
				attempts = string(h.Value)
			}
		}
		n, _ := strconv.Atoi(attempts)
		fmt.Printf("dead set: %s after %d attempt(s)\n", r.Key, n)
	}
	// Output:
	// 00.000: e1 signup attempt 0
	// 00.000: e2 ping attempt 0
	// 00.000: e3  attempt 0
	// 01.000: e1 signup attempt 1
	// 03.000: e1 signup attempt 2
	// dead set: e3 after 1 attempt(s)
}

// MapValuesErr: a value that does not parse is the record's processing
// error; with OnProcessingError set to skip, it is skipped and the others
// go on.
func ExampleMapValuesErr() {
	b := topology.NewBuilder()
	prices := kstream.From(b, "prices", serde.String(), serde.String())
	kstream.MapValuesErr(prices, func(_, v string) (int64, error) {
		return strconv.ParseInt(v, 10, 64)
	}).To("cents")
	top, err := b.Build()
	if err != nil {
		panic(err)
	}
	d := testutil.NewDriver(exampleT{}, top, testutil.Config{OnProcessingError: topology.BadRecordSkip})
	in := testutil.NewInputTopic(d, "prices", serde.String(), serde.String())
	in.Pipe("tea", "250")
	in.Pipe("cake", "three fifty")
	in.Pipe("bun", "120")
	for _, kv := range testutil.NewOutputTopic(d, "cents", serde.String(), serde.Int64()).ReadKeyValues() {
		fmt.Println(kv.Key, kv.Value)
	}
	fmt.Println("failed and skipped:", d.FailedRecords())
	// Output:
	// tea 250
	// bun 120
	// failed and skipped: 1
}
