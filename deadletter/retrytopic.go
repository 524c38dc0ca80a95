package deadletter

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-go/strata/retry"
)

// RetryTopic is the retry topic of the outcome handler handler of
// application applicationID, where Replay sends the handler's records:
// "<applicationID>-<handler>-retry" (retry.Topic).
func RetryTopic(applicationID, handler string) string {
	return retry.Topic(applicationID, handler)
}

// retryRecord returns d as a record of its handler's retry topic topic, of
// partitions partitions, in package retry's format (retry.NewRecord): d's
// key, value, timestamp and own headers, with attempt 0 (a fresh start with
// the policy's full budget), due at due, d's message as the last error and
// d's source coordinates. It goes to d's source partition modulo
// partitions (the retry topic has the source's partition count, so to the
// same partition as the source record).
func retryRecord(topic string, partitions int, d Record, due time.Time) *kgo.Record {
	orig := &kgo.Record{Key: d.Key, Value: d.Value, Timestamp: d.Timestamp, Headers: d.Headers}
	return retry.NewRecord(topic, d.Partition%int32(max(partitions, 1)), orig, retry.Info{
		Attempt:   0,
		Due:       due,
		Error:     d.Message,
		Topic:     d.Topic,
		Partition: d.Partition,
		Offset:    d.Offset,
	})
}

// sourceRecord returns d as it was in its source topic, to replay there.
func sourceRecord(d Record) *kgo.Record {
	return &kgo.Record{
		Topic:     d.Topic,
		Partition: d.Partition,
		Key:       d.Key,
		Value:     d.Value,
		Timestamp: d.Timestamp,
		Headers:   d.Headers,
	}
}
