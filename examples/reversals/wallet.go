package main

import (
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Wallet is the wallet service the worker calls: users' balances, the
// amounts their bookings reserved, and an HTTP API that reverses a
// booking's reservation, crediting its amount back:
//
//	POST /v1/reservations/{booking}/reverse
//
// It answers 200 when the reservation is reversed, and again, doing
// nothing, for one reversed before: a reversal is idempotent by booking
// ID, so a call the worker repeats (a retry after a lost answer, a replay)
// cannot credit twice. It answers 404 for a booking it holds no
// reservation of, and 503, as an outage would, for a share of calls
// (SetFailShare).
//
// Which calls fail is decided by a hash of the booking ID and the call's
// number for that booking, so a run fails the same calls whatever order
// the worker's tasks make them in.
type Wallet struct {
	mu        sync.Mutex
	balances  map[string]int64 // available, per user
	reserved  map[string]reservation
	reversed  map[string]bool
	calls     map[string]int // reversal calls per booking
	repeats   int            // calls for bookings already reversed
	failShare float64
	latency   time.Duration
	first     time.Time // of the first reversal call
}

type reservation struct {
	user   string
	amount int64
}

// NewWallet returns a wallet with the given balances and no reservations.
func NewWallet(balances map[string]int64) *Wallet {
	return &Wallet{
		balances: maps.Clone(balances),
		reserved: map[string]reservation{},
		reversed: map[string]bool{},
		calls:    map[string]int{},
	}
}

// Reserve takes amount from user's balance for booking.
func (w *Wallet) Reserve(booking, user string, amount int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.balances[user] -= amount
	w.reserved[booking] = reservation{user, amount}
}

// SetFailShare makes the wallet fail share (0 to 1) of its reversal calls
// with 503 Service Unavailable; 0 "fixes" it.
func (w *Wallet) SetFailShare(share float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failShare = share
}

// SetLatency makes every reversal call take d before it is answered, as a
// remote service's would.
func (w *Wallet) SetLatency(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.latency = d
}

// FirstCall returns when the wallet got its first reversal call (zero if
// none).
func (w *Wallet) FirstCall() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

// fails says whether the n-th reversal call for booking fails, at a share
// of calls.
func fails(booking string, n int, share float64) bool {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", booking, n)
	return float64(h.Sum32()%1000) < share*1000
}

// ServeHTTP serves the wallet's API.
func (w *Wallet) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reservations/{booking}/reverse", w.reverse)
	mux.ServeHTTP(rw, r)
}

func (w *Wallet) reverse(rw http.ResponseWriter, r *http.Request) {
	booking := r.PathValue("booking")
	w.mu.Lock()
	if w.first.IsZero() {
		w.first = time.Now()
	}
	latency := w.latency
	w.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[booking]++
	res, ok := w.reserved[booking]
	switch {
	case fails(booking, w.calls[booking], w.failShare):
		http.Error(rw, "wallet is having a bad day", http.StatusServiceUnavailable)
	case !ok:
		http.Error(rw, "no reservation for booking "+strconv.Quote(booking), http.StatusNotFound)
	case w.reversed[booking]:
		w.repeats++
		fmt.Fprintln(rw, "already reversed")
	default:
		w.reversed[booking] = true
		w.balances[res.user] += res.amount
		fmt.Fprintln(rw, "reversed")
	}
}

// Balances returns every user's balance.
func (w *Wallet) Balances() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.balances)
}

// Reversed returns how many reservations were reversed, and how many calls
// asked again for a reversal already made.
func (w *Wallet) Reversed() (reversed, repeats int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.reversed), w.repeats
}

// Calls returns how many reversal calls the wallet got.
func (w *Wallet) Calls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.calls {
		n += c
	}
	return n
}
