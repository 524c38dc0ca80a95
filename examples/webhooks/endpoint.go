package main

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Received is a delivery a subscriber accepted.
type Received struct {
	Key     string
	Event   Event
	Attempt int
}

// Endpoint is a subscriber's webhook endpoint (served by httptest in the
// example): it takes deliveries after Delay, fails FailShare of them
// with 503, and keeps the ones it accepted, in order of arrival.
type Endpoint struct {
	Name string
	// Delay is how long each call takes: a slow subscriber.
	Delay time.Duration
	// FailShare is the share of calls answered 503, chosen by a hash of
	// the subscriber, the event and the attempt, so that a run is
	// reproducible (see Fails).
	FailShare float64

	mu       sync.Mutex
	received []Received
	calls    int
	// arrived is signalled (without blocking) at each accepted call.
	arrived chan struct{}
}

// NewEndpoint returns an endpoint named name.
func NewEndpoint(name string, delay time.Duration, failShare float64) *Endpoint {
	return &Endpoint{Name: name, Delay: delay, FailShare: failShare, arrived: make(chan struct{}, 1)}
}

// ServeHTTP takes one delivery.
func (ep *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e Event
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
		http.Error(w, "bad event: "+err.Error(), http.StatusBadRequest)
		return
	}
	attempt, err := strconv.Atoi(r.Header.Get(HeaderAttempt))
	if err != nil {
		http.Error(w, "bad "+HeaderAttempt, http.StatusBadRequest)
		return
	}
	if ep.Delay > 0 {
		select {
		case <-time.After(ep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	ep.mu.Lock()
	ep.calls++
	fail := Fails(ep.Name, e.ID, attempt, ep.FailShare)
	if !fail {
		ep.received = append(ep.received, Received{Key: r.Header.Get(HeaderKey), Event: e, Attempt: attempt})
	}
	ep.mu.Unlock()
	if fail {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	select {
	case ep.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// Received returns the deliveries accepted so far, in order of arrival.
func (ep *Endpoint) Received() []Received {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]Received(nil), ep.received...)
}

// Calls returns the number of calls so far, failed ones included.
func (ep *Endpoint) Calls() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.calls
}

// Arrived is signalled when a delivery is accepted (at most one signal
// waits).
func (ep *Endpoint) Arrived() <-chan struct{} { return ep.arrived }

// Fails reports whether subscriber fails attempt (from 1) of the delivery
// of event, failing share of its calls.
func Fails(subscriber, event string, attempt int, share float64) bool {
	if share <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(subscriber))
	h.Write([]byte{0})
	h.Write([]byte(event))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(attempt))
	h.Write(n[:])
	return float64(h.Sum64()%10000) < share*10000
}
