package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/strata-go/strata/deadletter"
)

// Dead is a delivery in the dead set.
type Dead struct {
	Key      string
	Delivery Delivery
	Reason   string
	Message  string
}

// ParseDead reads a dead-set record of the delivery handler.
func ParseDead(d deadletter.Record) (Dead, error) {
	var dv Delivery
	if err := json.Unmarshal(d.Value, &dv); err != nil {
		return Dead{}, fmt.Errorf("dead-set record %d@%d: %w", d.DeadLetterPartition, d.DeadLetterOffset, err)
	}
	return Dead{Key: string(d.Key), Delivery: dv, Reason: d.Reason, Message: d.Message}, nil
}

// Check compares what the subscribers received (got, by subscriber) and
// the dead set with what the events should have made (want, by
// subscriber, in publishing order) given that the deliveries wantDead
// exhaust their retries. It holds when:
//
//   - each subscriber received each of its deliveries at most once, and
//     only its own;
//   - every delivery of want was received or is in the dead set, and the
//     dead set is wantDead exactly;
//   - per key, the deliveries a subscriber accepted at their first
//     attempt arrived in publishing order. A retried delivery arrives
//     after the ones behind it: retries go through the retry topic
//     without holding up the partition.
func Check(got map[string][]Received, dead []Dead, want map[string][]Keyed, wantDead []Dead) error {
	var errs []string
	deadBy := map[string]map[string]bool{}
	for _, d := range dead {
		if deadBy[d.Delivery.Subscriber] == nil {
			deadBy[d.Delivery.Subscriber] = map[string]bool{}
		}
		deadBy[d.Delivery.Subscriber][d.Delivery.Event.ID] = true
	}
	if g, w := deadIDs(dead), deadIDs(wantDead); !slices.Equal(g, w) {
		errs = append(errs, fmt.Sprintf("dead set %v, want %v", g, w))
	}
	for _, s := range Subscribers {
		wanted := map[string]Keyed{}
		for _, k := range want[s] {
			wanted[k.Event.ID] = k
		}
		seen := map[string]bool{}
		lastSeq := map[string]int{}
		for _, r := range got[s] {
			k, ok := wanted[r.Event.ID]
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("%s received %s (%s), not subscribed", s, r.Event.ID, r.Event.Type))
				continue
			case seen[r.Event.ID]:
				errs = append(errs, fmt.Sprintf("%s received %s twice", s, r.Event.ID))
			case deadBy[s][r.Event.ID]:
				errs = append(errs, fmt.Sprintf("%s received %s, which is in the dead set", s, r.Event.ID))
			case r.Key != k.Key:
				errs = append(errs, fmt.Sprintf("%s received %s keyed %q, want %q", s, r.Event.ID, r.Key, k.Key))
			}
			seen[r.Event.ID] = true
			if r.Attempt == 1 {
				if r.Event.Seq < lastSeq[r.Key] {
					errs = append(errs, fmt.Sprintf("%s received %s (key %s, #%d) after #%d", s, r.Event.ID, r.Key, r.Event.Seq, lastSeq[r.Key]))
				}
				lastSeq[r.Key] = r.Event.Seq
			}
		}
		for _, k := range want[s] {
			if !seen[k.Event.ID] && !deadBy[s][k.Event.ID] {
				errs = append(errs, fmt.Sprintf("%s never received %s (%s)", s, k.Event.ID, k.Event.Type))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("deliveries wrong:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// deadIDs lists dead deliveries as "subscriber/event", sorted.
func deadIDs(dead []Dead) []string {
	out := make([]string, len(dead))
	for i, d := range dead {
		out[i] = d.Delivery.Subscriber + "/" + d.Delivery.Event.ID
	}
	slices.Sort(out)
	return out
}

// WantDead returns the dead set that want (by subscriber) makes: the
// deliveries of the subscribers failing shares[subscriber] of their calls
// whose every one of attempts calls fails.
func WantDead(want map[string][]Keyed, shares map[string]float64, attempts int) []Dead {
	var out []Dead
	for _, s := range Subscribers {
		for _, k := range Exhausted(s, want[s], shares[s], attempts) {
			out = append(out, Dead{Key: k.Key, Delivery: Delivery{Subscriber: s, Event: k.Event}})
		}
	}
	return out
}

// Print writes what each subscriber received, by key in arrival order,
// a retried delivery marked with its attempt, then the dead set.
func Print(w io.Writer, got map[string][]Received, dead []Dead) {
	for _, s := range Subscribers {
		fmt.Fprintf(w, "%s received %d:\n", s, len(got[s]))
		byKey := map[string][]string{}
		var keys []string
		for _, r := range got[s] {
			if byKey[r.Key] == nil {
				keys = append(keys, r.Key)
			}
			e := fmt.Sprintf("#%d %s", r.Event.Seq, r.Event.Type)
			if r.Attempt > 1 {
				e += fmt.Sprintf(" (attempt %d)", r.Attempt)
			}
			byKey[r.Key] = append(byKey[r.Key], e)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, strings.Join(byKey[k], ", "))
		}
	}
	slices.SortFunc(dead, func(a, b Dead) int {
		return cmp.Or(cmp.Compare(a.Delivery.Subscriber, b.Delivery.Subscriber), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Delivery.Event.Seq, b.Delivery.Event.Seq))
	})
	fmt.Fprintf(w, "dead set: %d deliveries\n", len(dead))
	for _, d := range dead {
		fmt.Fprintf(w, "  %s  %s: #%d %s  %s: %s\n", d.Delivery.Subscriber, d.Key, d.Delivery.Event.Seq, d.Delivery.Event.Type, d.Reason, d.Message)
	}
}
