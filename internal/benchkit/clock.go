package benchkit

import (
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Clock times a run through franz-go hooks: pass [Clock.Hooks] to every
// client of the run. It notes when the first batch of its input topic is
// fetched, when its output topic's last record is acknowledged and when the
// last offset commit or transaction commit is answered. A Clock times one
// run.
type Clock struct {
	in, out string

	start      atomic.Int64 // unix nanoseconds of the first input batch; 0 before
	lastAck    atomic.Int64 // of the last output record acknowledged
	lastCommit atomic.Int64 // of the last OffsetCommit or EndTxn response
	acked      atomic.Int64 // output records acknowledged
}

// NewClock returns a Clock for a run reading in and writing out.
func NewClock(in, out string) *Clock {
	return &Clock{in: in, out: out}
}

// Hooks returns the client option that installs the clock's hooks.
func (c *Clock) Hooks() kgo.Opt { return kgo.WithHooks(c) }

// OnFetchBatchRead notes the first batch fetched from the input topic.
func (c *Clock) OnFetchBatchRead(_ kgo.BrokerMetadata, topic string, _ int32, _ kgo.FetchBatchMetrics) {
	if topic == c.in && c.start.Load() == 0 {
		c.start.CompareAndSwap(0, time.Now().UnixNano())
	}
}

// OnProduceRecordUnbuffered notes each output record acknowledged.
func (c *Clock) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if err == nil && r.Topic == c.out {
		c.acked.Add(1)
		c.lastAck.Store(time.Now().UnixNano())
	}
}

// OnBrokerRead notes answered offset and transaction commits.
func (c *Clock) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err == nil && (key == kmsg.OffsetCommit.Int16() || key == kmsg.EndTxn.Int16()) {
		c.lastCommit.Store(time.Now().UnixNano())
	}
}

// Acked returns how many output records were acknowledged.
func (c *Clock) Acked() int64 { return c.acked.Load() }

// ToLastOutput returns the time from the first input batch fetched to the
// last output record acknowledged, or 0 if either is missing.
func (c *Clock) ToLastOutput() time.Duration { return c.since(c.lastAck.Load()) }

// ToLastCommit returns the time from the first input batch fetched to the
// last commit answered, or 0 if either is missing.
func (c *Clock) ToLastCommit() time.Duration { return c.since(c.lastCommit.Load()) }

func (c *Clock) since(end int64) time.Duration {
	start := c.start.Load()
	if start == 0 || end < start {
		return 0
	}
	return time.Duration(end - start)
}
