package retry

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Header keys of a retry record, added to the original record's headers.
const (
	// HeaderAttempt is the attempt the delivery is, in decimal: 1 for
	// the first retry; 0 for a record replayed from the dead set, which
	// starts afresh with the policy's full budget.
	HeaderAttempt = "strata.retry.attempt"
	// HeaderDue is the time before which the record must not be
	// handled again, in Unix milliseconds (decimal).
	HeaderDue = "strata.retry.due"
	// HeaderError is the text of the error the last attempt failed with.
	HeaderError = "strata.retry.error"
)

// Header keys of the original record's coordinates: the dead-letter
// format's (KIP-1034's; package deadletter's HeaderTopic, HeaderPartition
// and HeaderOffset), kept unchanged across attempts. They are repeated here
// so that package deadletter can import this one.
const (
	HeaderTopic     = "__streams.errors.topic"
	HeaderPartition = "__streams.errors.partition"
	HeaderOffset    = "__streams.errors.offset"
)

// Header keys a handler adds to the dead-set records it writes, besides the
// dead-letter format's own.
const (
	// HeaderHandler names the handler that gave up on the record: its
	// retry topic is Topic(applicationID, handler), where a replay
	// sends it.
	HeaderHandler = "strata.handler"
	// HeaderAttempts is how many times the handler's function was
	// called for the record, in decimal.
	HeaderAttempts = "strata.retry.attempts"
)

// ReasonExhausted is the reason (deadletter's HeaderException) of a record
// that went to the dead set because its last attempt asked for a retry.
const ReasonExhausted = "retries-exhausted"

// TopicSuffix ends the name of every retry topic.
const TopicSuffix = "-retry"

// Topic returns the retry topic of the handler named handler in the
// application applicationID: "<applicationID>-<handler>-retry". The
// application creates it, as it creates repartition topics, with the
// partition count of the handler's input.
func Topic(applicationID, handler string) string {
	return applicationID + "-" + handler + TopicSuffix
}

// ErrNotRetry is returned, wrapped, by Parse for a record without a valid
// attempt header.
var ErrNotRetry = errors.New("retry: not a retry record")

// Info is what a retry record's headers say about it.
type Info struct {
	// Attempt is the attempt the delivery is: 1 for the first retry, 0
	// for a replay from the dead set.
	Attempt int
	// Due is when the record may be handled again.
	Due time.Time
	// Error is the text of the error the last attempt failed with.
	Error string
	// Topic, Partition and Offset locate the original record: the
	// record the handler got first, before any retry.
	Topic     string
	Partition int32
	Offset    int64
}

// NewRecord returns the retry record that sends orig to partition partition
// of the retry topic topic: orig's key, value, timestamp and headers (which
// must not hold retry headers already: pass the ones Parse returns), then
// the headers of info. The key, value and headers are orig's slices, not
// copies; the header slice is new.
//
// A handler writes a retry to the partition of its task's number, which is
// the original record's partition: replays should too.
func NewRecord(topic string, partition int32, orig *kgo.Record, info Info) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, len(orig.Headers)+6)
	h = append(h, orig.Headers...)
	h = append(h,
		kgo.RecordHeader{Key: HeaderAttempt, Value: strconv.AppendInt(nil, int64(info.Attempt), 10)},
		kgo.RecordHeader{Key: HeaderDue, Value: strconv.AppendInt(nil, info.Due.UnixMilli(), 10)},
		kgo.RecordHeader{Key: HeaderError, Value: []byte(info.Error)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(info.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(info.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, info.Offset, 10)},
	)
	return &kgo.Record{
		Topic:     topic,
		Partition: partition,
		Key:       orig.Key,
		Value:     orig.Value,
		Timestamp: orig.Timestamp,
		Headers:   h,
	}
}

// retryKeys are the header keys Parse takes out of a retry record, each in
// its last occurrence: the ones NewRecord appends.
var retryKeys = [...]string{HeaderAttempt, HeaderDue, HeaderError, HeaderTopic, HeaderPartition, HeaderOffset}

// Parse reads a retry record's headers: the retry headers (the last
// occurrence of each key), and the original record's headers, the others,
// in their order. A record without a valid attempt header is ErrNotRetry,
// wrapped; other headers missing or malformed leave their fields zero (a
// Partition and Offset of -1).
func Parse(r *kgo.Record) (Info, []kgo.RecordHeader, error) {
	var last [len(retryKeys)]int
	for i := range last {
		last[i] = -1
	}
	for i, h := range r.Headers {
		for k, key := range retryKeys {
			if h.Key == key {
				last[k] = i
			}
		}
	}
	value := func(k int) []byte {
		if last[k] < 0 {
			return nil
		}
		return r.Headers[last[k]].Value
	}
	info := Info{Partition: -1, Offset: -1}
	attempt, ok := parseInt(value(0))
	if !ok || attempt < 0 || attempt > 1<<31-1 {
		return Info{}, nil, fmt.Errorf("%w: %s[%d]@%d: header %s is %q", ErrNotRetry, r.Topic, r.Partition, r.Offset, HeaderAttempt, value(0))
	}
	info.Attempt = int(attempt)
	if due, ok := parseInt(value(1)); ok {
		info.Due = time.UnixMilli(due)
	}
	info.Error = string(value(2))
	info.Topic = string(value(3))
	if p, ok := parseInt(value(4)); ok && p <= 1<<31-1 {
		info.Partition = int32(p)
	}
	if o, ok := parseInt(value(5)); ok {
		info.Offset = o
	}
	headers := make([]kgo.RecordHeader, 0, len(r.Headers))
	for i, h := range r.Headers {
		taken := false
		for _, l := range last {
			taken = taken || l == i
		}
		if !taken {
			headers = append(headers, h)
		}
	}
	return info, headers, nil
}

// Due returns the due time of a retry record, the zero Time when it has no
// valid HeaderDue: a handler's retry source holds each record until then.
// It does not allocate.
func Due(r *kgo.Record) time.Time {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == HeaderDue {
			if ms, ok := parseInt(r.Headers[i].Value); ok {
				return time.UnixMilli(ms)
			}
			return time.Time{}
		}
	}
	return time.Time{}
}

// parseInt parses a non-negative decimal number without allocating.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
