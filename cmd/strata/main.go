// Command strata operates Strata applications: it inspects, repairs and
// rebuilds an application from one command line, through the Kafka
// cluster and the admin endpoint of its instances (strata.App.AdminHandler).
//
//	strata describe --admin http://host:9090 [--format text|dot|mermaid]
//	strata lag      --brokers host:9092 --application-id wordcount
//	strata reset    --brokers host:9092 --application-id wordcount [--dry-run] [--state-dir DIR]
//	strata topics   --brokers host:9092 --application-id wordcount
//
// describe prints an application's topology as its admin endpoint serves
// it. lag prints, per task and input partition, how far the application's
// committed offsets are behind the partitions' ends, from the consumer
// group alone: no instance needs to run. reset is Kafka's application reset
// tool: with every instance stopped, it moves the input topics' committed
// offsets back (to the earliest, a date-time or a duration ago), deletes the
// application's internal topics and wipes a local state directory, so that
// the next run rebuilds everything from the input. topics lists the
// application's internal topics and their sizes.
//
// `strata help` and `strata <command> --help` list the commands and their
// flags. Commands talking to Kafka take --brokers and, for a secured
// cluster, --tls, --tls-ca, --sasl-mechanism and --sasl-user (the password
// comes from the environment variable STRATA_SASL_PASSWORD).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
)

// command is a subcommand of strata.
type command struct {
	name string
	// summary is the one line `strata help` shows.
	summary string
	// run parses args, the arguments after the command's name, with fs
	// (named for the command, writing its usage to stderr), and runs
	// the command, writing its report to out.
	run func(ctx context.Context, fs *flag.FlagSet, args []string, out io.Writer) error
}

// commands are strata's subcommands, by name; each command's file registers
// it.
var commands = map[string]*command{}

// register adds c to the commands.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("strata: command " + c.name + " registered twice")
	}
	commands[c.name] = c
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "strata:", err)
		}
		os.Exit(2)
	}
}

// run runs the command args name, writing its report to out and usage to
// errOut.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		usage(errOut)
		return errors.New("no command given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := commands[args[1]]; c != nil {
				return c.run(ctx, newFlagSet(c, errOut), []string{"--help"}, out)
			}
		}
		usage(out)
		return nil
	}
	c := commands[name]
	if c == nil {
		usage(errOut)
		return fmt.Errorf("unknown command %q", name)
	}
	return c.run(ctx, newFlagSet(c, errOut), args[1:], out)
}

// newFlagSet returns the flag set of c, which reports its errors and
// usage to errOut.
func newFlagSet(c *command, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("strata "+c.name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "strata %s: %s\n\nFlags:\n", c.name, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

// usage lists the commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "strata operates Strata applications.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: strata <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(tw, "  %s\t%s\n", name, commands[name].summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, `"strata <command> --help" lists a command's flags.`)
}

// parse parses args with fs and refuses arguments that are not flags.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
