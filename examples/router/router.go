package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strata-go/strata/kstream"
	"github.com/strata-go/strata/serde"
	"github.com/strata-go/strata/topology"
)

// Topics the router reads and writes.
const (
	// InputTopic holds the raw events, keyed by user id.
	InputTopic = "router-events"
	// RejectedTopic receives the events that fail validation, as they
	// arrived, with the reason in the ReasonHeader header.
	RejectedTopic = "router-events.rejected"
	// ReasonHeader is the header that says why an event was rejected.
	ReasonHeader = "rejection-reason"
)

// Types are the event types the router knows. Each has its own output
// topic, named by [TopicFor].
var Types = []string{"order.created", "payment.received", "user.signup"}

// TopicFor returns the output topic of events of type typ.
func TopicFor(typ string) string { return "router-events." + typ }

// OutputTopics returns every topic the router writes, sorted.
func OutputTopics() []string {
	topics := []string{RejectedTopic}
	for _, typ := range Types {
		topics = append(topics, TopicFor(typ))
	}
	slices.Sort(topics)
	return topics
}

// Event is a valid, normalised event, written as JSON to the topic of its
// type.
type Event struct {
	ID     string    `json:"id"`
	Type   string    `json:"type"`   // one of Types
	User   string    `json:"user"`   // also the record key
	Amount float64   `json:"amount"` // rounded to cents, never negative
	At     time.Time `json:"at"`     // in UTC
}

// wireEvent is an event as producers write it: the JSON is trusted for its
// shape only.
type wireEvent struct {
	ID     string  `json:"id"`
	Type   string  `json:"type"`
	User   string  `json:"user"`
	Amount float64 `json:"amount"`
	At     string  `json:"at"`
}

// Validate decodes and checks one event and returns it normalised: type
// lower-cased and trimmed, id and user trimmed, amount rounded to cents and
// time in UTC. The error, if any, says what is wrong with the first field
// that fails; it becomes the rejected record's reason.
func Validate(raw []byte) (Event, error) {
	if len(raw) == 0 {
		return Event{}, errors.New("empty value")
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, fmt.Errorf("invalid JSON: %w", err)
	}
	ev := Event{
		ID:     strings.TrimSpace(w.ID),
		Type:   strings.ToLower(strings.TrimSpace(w.Type)),
		User:   strings.TrimSpace(w.User),
		Amount: math.Round(w.Amount*100) / 100,
	}
	at := strings.TrimSpace(w.At)
	switch {
	case ev.ID == "":
		return Event{}, errors.New("missing id")
	case ev.Type == "":
		return Event{}, errors.New("missing type")
	case !slices.Contains(Types, ev.Type):
		return Event{}, fmt.Errorf("unknown type %q", ev.Type)
	case ev.User == "":
		return Event{}, errors.New("missing user")
	case w.Amount < 0:
		return Event{}, fmt.Errorf("negative amount %s", strconv.FormatFloat(w.Amount, 'f', -1, 64))
	case at == "":
		return Event{}, errors.New("missing at")
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return Event{}, fmt.Errorf("at %q is not an RFC 3339 time", at)
	}
	ev.At = t.UTC()
	return ev, nil
}

// Checked is an input record after validation: the normalised Event, or the
// error that rejects it. Raw is the value as it arrived.
type Checked struct {
	Event Event
	Err   error
	Raw   []byte
}

// Topology builds the router:
//
//	router-events ─▶ check ─▶ route ─┬─ valid ───▶ normalise ─▶ router-events.<type>
//	                                 └─ rejected ─▶ reject ───▶ router-events.rejected
func Topology() (*topology.Topology, error) {
	b := topology.NewBuilder()

	// Values are read as raw bytes and decoded by Validate, not by
	// serde.JSON[wireEvent]. A value the source's serde cannot decode is a
	// bad record, which the app fails on, skips or writes to its
	// dead-letter topic (strata.Config's OnBadRecord) before the topology
	// sees it. Decoding here instead makes malformed JSON one more
	// rejected event, with the parse error as its reason, and keeps the
	// original bytes to forward to router-events.rejected, a topic of the
	// router's own design.
	//
	// Records keep their Kafka timestamps. Event time could come from the
	// "at" field through kstream.WithTimestampExtractor, but an extractor
	// error also makes a bad record rather than a rejection, and routing is
	// stateless: nothing here depends on time.
	raw := kstream.From(b, InputTopic, serde.String(), serde.Bytes(), kstream.Named("events"))
	checked := kstream.MapValues(raw, func(_ string, v []byte) Checked {
		ev, err := Validate(v)
		return Checked{Event: ev, Err: err, Raw: v}
	}, kstream.Named("check"))

	routes := checked.Split(kstream.Named("route")).
		Branch("valid", func(_ string, c Checked) bool { return c.Err == nil }).
		Default("rejected")

	// Valid events are keyed by their normalised user id and written as
	// JSON to the topic of their type. The topic function reads the type
	// of each event, so a new type needs no new branch; each output topic
	// must exist, and a missing one stops the app at its first event.
	valid := kstream.Map(routes["valid"], func(_ string, c Checked) (string, Event) {
		return c.Event.User, c.Event
	}, kstream.Named("normalise"))
	valid.ToTopicFunc(func(r topology.Record[string, Event]) (string, error) {
		return TopicFor(r.Value.Type), nil
	}, kstream.WithSerdes(serde.String(), serde.JSON[Event]()), kstream.Named("by-type"))

	// Rejected events keep their key and bytes and gain a header; adding a
	// header takes the processor API.
	rejected := kstream.Process(routes["rejected"], func() topology.Processor[string, Checked, string, []byte] {
		return &rejecter{}
	}, kstream.Named("reject"))
	rejected.To(RejectedTopic, kstream.Named("to-rejected"))

	return b.Build()
}

// rejecter forwards a rejected event's original bytes with the reason in a
// ReasonHeader header.
type rejecter struct {
	ctx topology.Context[string, []byte]
}

func (p *rejecter) Init(ctx topology.Context[string, []byte]) error {
	p.ctx = ctx
	return nil
}

func (p *rejecter) Process(r topology.Record[string, Checked]) error {
	// Headers are shared with the input record: append to a clipped
	// slice, which copies them.
	headers := append(slices.Clip(r.Headers), topology.Header{Key: ReasonHeader, Value: []byte(r.Value.Err.Error())})
	return p.ctx.Forward(topology.Record[string, []byte]{
		Key:       r.Key,
		Value:     r.Value.Raw,
		Timestamp: r.Timestamp,
		Headers:   headers,
	})
}

func (p *rejecter) Close() error { return nil }
