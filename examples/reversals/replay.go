package main

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/deadletter"
	"github.com/strata-go/strata/retry"
)

// replay sends dead-set records back through their handler's retry flow, as
// the dead set's replay does (package retry's format): to the handler's
// retry topic, with attempt 0 (the policy's full budget again) and due now,
// the original key, value, timestamp, headers and coordinates. Only this
// application reads its retry topic, so no other consumer of the bookings
// topic sees the records again.
//
// The dead set's API (DeadSet.Replay and its HTTP form, POST
// /v1/dead_set/replay) is not on this branch yet; when it is, this is one
// call of it.
func replay(ctx context.Context, cl *kgo.Client, dead []*kgo.Record, now time.Time) error {
	recs, err := replayRecords(dead, now)
	if err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// replayRecords returns the retry records that replay the dead-set records
// dead, due at now: replay's records, each for the partition it names
// (produce them with kgo.ManualPartitioner).
func replayRecords(dead []*kgo.Record, now time.Time) ([]*kgo.Record, error) {
	var recs []*kgo.Record
	for _, r := range dead {
		d, err := deadletter.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("replay %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		handler := d.Handler // deadletter.Parse reads it off the headers
		orig := &kgo.Record{Key: d.Key, Value: d.Value, Timestamp: d.Timestamp}
		for _, h := range d.Headers {
			switch h.Key {
			case retry.HeaderHandler, retry.HeaderAttempts:
			default:
				orig.Headers = append(orig.Headers, h)
			}
		}
		if handler == "" {
			return nil, fmt.Errorf("replay %s[%d]@%d: no handler named in header %s", r.Topic, r.Partition, r.Offset, retry.HeaderHandler)
		}
		recs = append(recs, retry.NewRecord(retry.Topic(ApplicationID, handler), d.Partition, orig, retry.Info{
			Attempt: 0, Due: now, Error: d.Message,
			Topic: d.Topic, Partition: d.Partition, Offset: d.Offset,
		}))
	}
	return recs, nil
}
