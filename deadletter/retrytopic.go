package deadletter

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The retry topics' format, as outcome handlers read and write it (the
// shared spec of issue 13). Package retry, being written beside this one,
// defines the same names (retry.HeaderAttempt, HeaderDue, HeaderError,
// retry.Topic, retry.NewRecord) and does not import this package: once it
// is merged, retryRecord and RetryTopic should use it. A replay writes a
// record there as a fresh start: attempt 0, due at once.
const (
	retryHeaderAttempt = "strata.retry.attempt"
	retryHeaderDue     = "strata.retry.due"
	retryHeaderError   = "strata.retry.error"
)

// RetryTopic is the retry topic of the outcome handler handler of
// application applicationID, where Replay sends the handler's records:
// "<applicationID>-<handler>-retry".
func RetryTopic(applicationID, handler string) string {
	return applicationID + "-" + handler + "-retry"
}

// retryRecord returns d as a record of its handler's retry topic topic, of
// partitions partitions: d's key, value, timestamp and own headers, with
// attempt 0, due at due, d's message as the last error and d's source
// coordinates. It goes to d's source partition modulo partitions (the
// retry topic has the source's partition count, so to the same partition
// as the source record).
func retryRecord(topic string, partitions int, d Record, due time.Time) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, len(d.Headers)+6)
	h = append(h, d.Headers...)
	h = append(h,
		kgo.RecordHeader{Key: retryHeaderAttempt, Value: []byte("0")},
		kgo.RecordHeader{Key: retryHeaderDue, Value: strconv.AppendInt(nil, due.UnixMilli(), 10)},
		kgo.RecordHeader{Key: retryHeaderError, Value: []byte(d.Message)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(d.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(d.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, d.Offset, 10)},
	)
	return &kgo.Record{
		Topic:     topic,
		Partition: d.Partition % int32(max(partitions, 1)),
		Key:       d.Key,
		Value:     d.Value,
		Timestamp: d.Timestamp,
		Headers:   h,
	}
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
