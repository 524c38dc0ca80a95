package main

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Lag is how many records of topic the consumer group has not committed
// yet: the sum over the topic's partitions of the end offset less the
// group's committed offset (0 where it has committed none). It is what a
// blue-green rebuild waits on: a projection whose lag is zero has applied
// every event written so far.
func Lag(ctx context.Context, adm *kadm.Client, group, topic string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("list end offsets of %q: %w", topic, err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("fetch the offsets of group %q: %w", group, err)
	}
	var lag int64
	ends.Each(func(end kadm.ListedOffset) {
		var at int64
		if c, ok := committed.Lookup(topic, end.Partition); ok {
			at = c.At
		}
		if end.Offset > at {
			lag += end.Offset - at
		}
	})
	return lag, nil
}

// lagPoll is how often WaitCaughtUp asks for the lag.
const lagPoll = 50 * time.Millisecond

// WaitCaughtUp waits until group's lag on topic is zero, or ctx ends or
// failed is closed (the application stopped).
func WaitCaughtUp(ctx context.Context, adm *kadm.Client, group, topic string, failed <-chan struct{}) error {
	tick := time.NewTicker(lagPoll)
	defer tick.Stop()
	for {
		lag, err := Lag(ctx, adm, group, topic)
		if err == nil && lag == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("lag %d", lag)
			}
			return fmt.Errorf("wait for %s to catch up: %w (%w)", group, ctx.Err(), err)
		case <-failed:
			return fmt.Errorf("wait for %s to catch up: the application stopped", group)
		case <-tick.C:
		}
	}
}
