package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// sampleUsers key the sample events.
var sampleUsers = []string{"alice", "bob", "carol", "dave", "erin"}

// sampleInvalid are the values of the invalid sample events, one of each
// kind of rejection, with the user that keys them.
var sampleInvalid = []struct{ user, value string }{
	{"alice", `not json`},
	{"bob", ``},
	{"carol", `{"id":"r-1","type":"refund.issued","user":"carol","amount":5,"at":"2024-05-01T09:30:00Z"}`},
	{"dave", `{"id":"p-x","type":"payment.received","user":"dave","amount":-5,"at":"2024-05-01T09:31:00Z"}`},
	{"erin", `{"id":"o-x","type":"order.created","user":"erin","amount":3,"at":"yesterday"}`},
	{"alice", `{"id":"o-y","type":"order.created","amount":3,"at":"2024-05-01T09:32:00Z"}`},
	{"bob", `{"type":"user.signup","user":"bob","at":"2024-05-01T09:33:00Z"}`},
	{"carol", `{"id":"p-y","type":"payment.received","user":"carol","amount":"12.50","at":"2024-05-01T09:34:00Z"}`},
}

// Sample returns n events for the input topic, the same every time: every
// sixth is invalid, cycling through the kinds of rejection; the others cycle
// through the event types and are written the way careless producers write
// them (odd case, stray spaces, amounts with fractions of cents, local
// times).
func Sample(n int) []*kgo.Record {
	base := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	cest := time.FixedZone("CEST", 2*60*60)
	recs := make([]*kgo.Record, 0, n)
	valid := 0
	for i := range n {
		if i%6 == 5 {
			bad := sampleInvalid[(i/6)%len(sampleInvalid)]
			var value []byte
			if bad.value != "" {
				value = []byte(bad.value)
			}
			recs = append(recs, &kgo.Record{Topic: InputTopic, Key: []byte(bad.user), Value: value})
			continue
		}
		typ := Types[valid%len(Types)]
		user := sampleUsers[valid%len(sampleUsers)]
		at := base.Add(time.Duration(i) * time.Minute)
		amount := ""
		if typ != "user.signup" {
			amount = fmt.Sprintf(`,"amount":%.3f`, 10+float64(valid)*1.125)
		}
		if valid%2 == 1 {
			typ = "  " + strings.ToUpper(typ) + " "
			user = " " + user
			at = at.In(cest)
		}
		value := fmt.Sprintf(`{"id":"e-%d","type":%q,"user":%q%s,"at":%q}`,
			i, typ, user, amount, at.Format(time.RFC3339))
		recs = append(recs, &kgo.Record{Topic: InputTopic, Key: []byte(strings.TrimSpace(user)), Value: []byte(value)})
		valid++
	}
	return recs
}
