package main

import (
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Users are the sample's wallet holders.
var Users = []string{"ana", "bo", "chen", "dara", "eli"}

// InitialBalance is every user's balance before the sample's bookings.
const InitialBalance = 100_000

// Sample returns n bookings, every third one cancelled, spread over Users.
func Sample(n int) []Booking {
	out := make([]Booking, n)
	for i := range out {
		status := "confirmed"
		if i%3 == 0 {
			status = "cancelled"
		}
		out[i] = Booking{
			ID:     fmt.Sprintf("b%04d", i),
			User:   Users[i%len(Users)],
			Amount: int64(1000 + 250*(i%7)),
			Status: status,
		}
	}
	return out
}

// records returns bookings as records of BookingsTopic.
func records(bookings []Booking) ([]*kgo.Record, error) {
	out := make([]*kgo.Record, len(bookings))
	for i, bk := range bookings {
		v, err := json.Marshal(bk)
		if err != nil {
			return nil, err
		}
		out[i] = &kgo.Record{Topic: BookingsTopic, Key: []byte(bk.ID), Value: v}
	}
	return out, nil
}

// newWallet returns a wallet holding InitialBalance for every user, and the
// reservations of bookings.
func newWallet(bookings []Booking) *Wallet {
	balances := map[string]int64{}
	for _, u := range Users {
		balances[u] = InitialBalance
	}
	w := NewWallet(balances)
	for _, bk := range bookings {
		w.Reserve(bk.ID, bk.User, bk.Amount)
	}
	return w
}

// expected returns the balances once every cancelled booking of bookings
// is reversed exactly once: InitialBalance less the confirmed bookings.
func expected(bookings []Booking) map[string]int64 {
	out := map[string]int64{}
	for _, u := range Users {
		out[u] = InitialBalance
	}
	for _, bk := range bookings {
		if bk.Status != "cancelled" {
			out[bk.User] -= bk.Amount
		}
	}
	return out
}

// cancelled counts the cancelled bookings.
func cancelled(bookings []Booking) int {
	n := 0
	for _, bk := range bookings {
		if bk.Status == "cancelled" {
			n++
		}
	}
	return n
}
