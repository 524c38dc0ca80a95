package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/strata-go/strata/deadletter"
)

func init() {
	register(&command{
		name:    "dlq",
		summary: "view, replay and delete an application's dead set",
		subs: []*command{
			{name: "list", summary: "print a page of the dead set; -after with the cursor it prints for the next", setup: dlqList},
			{name: "replay", summary: "replay records through their handlers' retry topics (or, with -to-source, their source topics) and delete them from the dead set", setup: dlqReplay},
			{name: "delete", summary: "delete records from the dead set (the dead-letter topic keeps them until its retention removes them)", setup: dlqDelete},
		},
	})
}

// dlqFlags are the flags of every dlq command.
type dlqFlags struct {
	kafka      *kafkaFlags
	app, topic string
	json       bool
	params     url.Values // the dead set's request parameters, as given
}

// addDLQFlags declares the flags of every dlq command on fs, and the
// filter's.
func addDLQFlags(fs *flag.FlagSet) *dlqFlags {
	f := &dlqFlags{kafka: addKafkaFlags(fs), params: url.Values{}}
	fs.StringVar(&f.app, "app", "", "the application `ID` (required)")
	fs.StringVar(&f.topic, "dead-letter-topic", "", "the dead-letter `topic` (default <app>-dead-letter)")
	fs.BoolVar(&f.json, "json", false, "print JSON, as the HTTP API answers")
	f.param(fs, "topic", "select records from source `topic`")
	f.param(fs, "key", "select records with `key` (as text)")
	f.param(fs, "key-base64", "select records with the binary key `base64`")
	f.param(fs, "reason", "select records that failed for `reason` (deserialization, processing, production, retries-exhausted, or a handler's)")
	f.param(fs, "handler", "select records of outcome handler `name`")
	f.param(fs, "since", "select records with a timestamp at or after `time` (RFC 3339)")
	f.param(fs, "until", "select records with a timestamp before `time` (RFC 3339)")
	return f
}

// param declares flag name, whose value is the dead set's parameter of the
// same name (with "_" for "-").
func (f *dlqFlags) param(fs *flag.FlagSet, name, usage string) {
	fs.Func(name, usage, func(v string) error {
		f.params.Add(strings.ReplaceAll(name, "-", "_"), v)
		return nil
	})
}

// boolParam declares the boolean flag name, a parameter as param's.
func (f *dlqFlags) boolParam(fs *flag.FlagSet, name, usage string) {
	fs.BoolFunc(name, usage, func(v string) error {
		f.params.Add(strings.ReplaceAll(name, "-", "_"), v)
		return nil
	})
}

// open opens the dead set the flags name.
func (f *dlqFlags) open() (*deadletter.DeadSet, error) {
	if f.app == "" {
		return nil, fmt.Errorf("%w: -app is required", errUsage)
	}
	opts, err := f.kafka.opts()
	if err != nil {
		return nil, err
	}
	return deadletter.Open(deadletter.Config{
		ApplicationID: f.app,
		Topic:         f.topic,
		ClientOptions: opts,
		Logger:        slog.New(slog.DiscardHandler),
	})
}

func dlqList(fs *flag.FlagSet) runFunc {
	f := addDLQFlags(fs)
	f.param(fs, "count", fmt.Sprintf("print at most `n` records (default %d, at most %d)", deadletter.DefaultCount, deadletter.MaxCount))
	f.param(fs, "after", "start after `cursor`, as the page before printed it")
	return func(ctx context.Context, out io.Writer) error {
		q, err := deadletter.ParseQuery(f.params)
		if err != nil {
			return err
		}
		ds, err := f.open()
		if err != nil {
			return err
		}
		page, err := ds.List(ctx, q)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(out, page)
		}
		for _, d := range page.Records {
			if _, err := fmt.Fprintln(out, recordLine(d)); err != nil {
				return err
			}
		}
		if page.More {
			_, err = fmt.Fprintf(out, "more: -after=%s\n", page.Next)
		}
		return err
	}
}

// recordLine is d as strata dlq list prints it: its coordinates in the
// dead set, where it came from, its timestamp, why it failed, its key and
// value (Go-quoted).
func recordLine(d deadletter.Record) string {
	at := fmt.Sprintf("%d@%d", d.DeadLetterPartition, d.DeadLetterOffset)
	if d.Err != nil {
		return fmt.Sprintf("%s not a dead-letter record: %v key=%s value=%s", at, d.Err, quote(d.Key), quote(d.Value))
	}
	var handler string
	if d.Handler != "" {
		handler = fmt.Sprintf(" handler=%s attempts=%d", d.Handler, d.Attempts)
	}
	return fmt.Sprintf("%s %s[%d]@%d %s %s%s: %s key=%s value=%s", at, d.Topic, d.Partition, d.Offset,
		d.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), d.Reason, handler, d.Message, quote(d.Key), quote(d.Value))
}

// quote returns b Go-quoted, or null.
func quote(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}

// addSelectionFlags declares the flags of a selection but to_source.
func addSelectionFlags(fs *flag.FlagSet) *dlqFlags {
	f := addDLQFlags(fs)
	f.param(fs, "partition", "select the one record at `partition` of the dead-letter topic (with -offset)")
	f.param(fs, "offset", "select the one record at `offset` (with -partition)")
	f.boolParam(fs, "all", "select every record (needed when nothing else narrows the selection)")
	f.param(fs, "before", "select only records before `cursor` (as list printed it: what you saw)")
	f.param(fs, "count", "select at most the first `n` records")
	f.boolParam(fs, "dry-run", "print what would be done, doing nothing")
	return f
}

func dlqReplay(fs *flag.FlagSet) runFunc {
	f := addSelectionFlags(fs)
	f.boolParam(fs, "to-source", "write the records to their source topics (every consumer group of those sees them again) instead of their handlers' retry topics: the only way for records without handler")
	return f.change(true)
}

func dlqDelete(fs *flag.FlagSet) runFunc {
	return addSelectionFlags(fs).change(false)
}

// change returns what replays (replay) or deletes the selected records.
func (f *dlqFlags) change(replay bool) runFunc {
	return func(ctx context.Context, out io.Writer) error {
		sel, err := deadletter.ParseSelection(f.params)
		if err != nil {
			return err
		}
		ds, err := f.open()
		if err != nil {
			return err
		}
		var res deadletter.Result
		verb := "deleted"
		if replay {
			verb = "replayed"
			res, err = ds.Replay(ctx, sel)
		} else {
			res, err = ds.Delete(ctx, sel)
		}
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(out, res)
		}
		if res.DryRun {
			verb = "would have " + verb
		}
		_, err = fmt.Fprintf(out, "%s %d records (%d kept)\n", verb, res.Count, res.Kept)
		return err
	}
}

// printJSON writes v as indented JSON.
func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
