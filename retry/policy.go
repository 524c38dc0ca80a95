package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ErrInvalidPolicy is wrapped by the errors of Policy.WithDefaults, which
// name the field at fault.
var ErrInvalidPolicy = errors.New("retry: invalid policy")

// Policy says how a handler retries a record its function asked to retry
// (kstream.Retry): how many times the function is called at most, how long
// each retry waits, and whether the retry blocks the record's partition.
// The zero Policy is usable: its fields take the defaults documented on
// them.
type Policy struct {
	// Backoff gives the delay before each retry: Fixed, Linear or
	// Exponential, or a Backoff of your own. Default
	// Exponential(time.Second, 2): 1s, 2s, 4s, ...
	Backoff Backoff
	// MaxAttempts is how many times the function is called for one
	// record at most, the first call included: MaxAttempts-1 retries.
	// A record whose last attempt asks to retry again goes to the dead
	// set, with the reason ReasonExhausted. 1 means no retry at all.
	// Default 5.
	MaxAttempts int
	// MaxDelay caps each delay, after the backoff and before jitter.
	// Default 1 hour. In blocking mode the delay is also capped by the
	// consumer group's rebalance timeout (kgo.RebalanceTimeout, 60s by
	// default), so that a wait in place never outlasts what a rebalance
	// gives a member.
	MaxDelay time.Duration
	// Jitter spreads retries that would fall due together: each delay d
	// is drawn uniformly from [(1-Jitter)·d, d]. From 0 (the default,
	// no jitter) to 1.
	Jitter float64
	// Blocking retries a record in place: its partition's later records
	// wait behind it (strict per-partition order), its offset is not
	// committed meanwhile, and the worker goes on with its other
	// partitions, commits and rebalances (topology.Context.Redeliver).
	// The default, false, retries through the handler's retry topic,
	// without blocking the partition. A blocking handler must be reached
	// from its sources through stateless operations only, and nothing
	// downstream of those sources may keep state: a retry delivers the
	// record from its source again. Build reports a topology where that
	// does not hold.
	Blocking bool
	// Rand returns a pseudo-random number in [0, 1) for Jitter. Default
	// math/rand/v2's Float64. It must be safe for concurrent use: the
	// tasks of a handler share it. Tests set it to make jitter
	// predictable.
	Rand func() float64
	// Now returns the current time, from which due times are counted.
	// Default: the task's clock (time.Now under strata.App, the test
	// driver's wall clock under testutil.Driver). Tests set it to
	// predict due times exactly.
	Now func() time.Time
}

// Default values of a Policy's fields.
const (
	DefaultMaxAttempts = 5
	DefaultMaxDelay    = time.Hour
)

// DefaultBackoff is the Backoff of a Policy that sets none.
var DefaultBackoff = Exponential(time.Second, 2)

// WithDefaults returns p with its zero fields set to their defaults, or an
// error wrapping ErrInvalidPolicy that names a field out of range: a
// negative MaxAttempts or MaxDelay, a Jitter outside [0, 1], an invalid
// backoff (a negative delay, a factor below 1). Now stays nil when unset:
// the handler uses its task's clock.
func (p Policy) WithDefaults() (Policy, error) {
	bad := func(field, format string, args ...any) (Policy, error) {
		return Policy{}, fmt.Errorf("%w: %s: %s", ErrInvalidPolicy, field, fmt.Sprintf(format, args...))
	}
	switch {
	case p.MaxAttempts < 0:
		return bad("MaxAttempts", "must not be negative, got %d", p.MaxAttempts)
	case p.MaxAttempts == 0:
		p.MaxAttempts = DefaultMaxAttempts
	}
	switch {
	case p.MaxDelay < 0:
		return bad("MaxDelay", "must not be negative, got %v", p.MaxDelay)
	case p.MaxDelay == 0:
		p.MaxDelay = DefaultMaxDelay
	}
	if !(p.Jitter >= 0 && p.Jitter <= 1) { // NaN too
		return bad("Jitter", "must be from 0 to 1, got %v", p.Jitter)
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	if v, ok := p.Backoff.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return bad("Backoff", "%v", err)
		}
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p, nil
}

// Delay returns how long retry number retry (1 for the first retry, the
// function's second attempt) waits: the backoff's delay, capped by MaxDelay,
// with Jitter applied. p must have its defaults (WithDefaults).
func (p Policy) Delay(retry int) time.Duration {
	d := min(max(p.Backoff.Delay(retry), 0), p.MaxDelay)
	if p.Jitter > 0 {
		d -= time.Duration(p.Jitter * p.Rand() * float64(d))
	}
	return d
}

// Next says what follows a failed attempt: attempt is the attempt that
// failed (0 for the first call), now the time it failed. It returns when
// the next attempt is due, or ok false when attempt was the last the policy
// allows. p must have its defaults (WithDefaults).
func (p Policy) Next(attempt int, now time.Time) (due time.Time, ok bool) {
	if attempt+1 >= p.MaxAttempts {
		return time.Time{}, false
	}
	return now.Add(p.Delay(attempt + 1)), true
}

// Backoff gives the delay before each retry, before MaxDelay and Jitter
// apply.
type Backoff interface {
	// Delay returns the delay before retry number retry, counted from
	// 1 (the function's second attempt). A negative delay counts as 0.
	Delay(retry int) time.Duration
}

// Fixed waits d before every retry.
func Fixed(d time.Duration) Backoff { return fixed{d} }

// Linear waits initial before the first retry and step more before each
// next one: initial, initial+step, initial+2·step, ...
func Linear(initial, step time.Duration) Backoff { return linear{initial, step} }

// Exponential waits initial before the first retry and factor times longer
// before each next one: initial, initial·factor, initial·factor², ...
// Delays saturate rather than overflow; MaxDelay caps them.
func Exponential(initial time.Duration, factor float64) Backoff {
	return exponential{initial, factor}
}

type fixed struct{ d time.Duration }

func (b fixed) Delay(int) time.Duration { return b.d }

func (b fixed) validate() error {
	if b.d < 0 {
		return fmt.Errorf("Fixed(%v): the delay must not be negative", b.d)
	}
	return nil
}

func (b fixed) String() string { return fmt.Sprintf("Fixed(%v)", b.d) }

type linear struct{ initial, step time.Duration }

func (b linear) Delay(retry int) time.Duration {
	return saturate(float64(b.initial) + float64(max(retry-1, 0))*float64(b.step))
}

func (b linear) validate() error {
	if b.initial < 0 || b.step < 0 {
		return fmt.Errorf("Linear(%v, %v): delays must not be negative", b.initial, b.step)
	}
	return nil
}

func (b linear) String() string { return fmt.Sprintf("Linear(%v, %v)", b.initial, b.step) }

type exponential struct {
	initial time.Duration
	factor  float64
}

func (b exponential) Delay(retry int) time.Duration {
	return saturate(float64(b.initial) * math.Pow(b.factor, float64(max(retry-1, 0))))
}

func (b exponential) validate() error {
	if b.initial < 0 {
		return fmt.Errorf("Exponential(%v, %v): the initial delay must not be negative", b.initial, b.factor)
	}
	if !(b.factor >= 1) || math.IsInf(b.factor, 1) {
		return fmt.Errorf("Exponential(%v, %v): the factor must be a finite number of at least 1", b.initial, b.factor)
	}
	return nil
}

func (b exponential) String() string { return fmt.Sprintf("Exponential(%v, %v)", b.initial, b.factor) }

// saturate converts nanoseconds to a Duration, the largest one when they do
// not fit.
func saturate(ns float64) time.Duration {
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
