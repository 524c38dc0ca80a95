package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/strata-go/strata/deadletter"
)

// A command is a subcommand of strata: a group of subcommands (subs), or
// one that runs (setup). A command lives in a file of its own, which
// registers it in an init function:
//
//	func init() {
//		register(&command{name: "lag", summary: "...", setup: func(fs *flag.FlagSet) runFunc { ... }})
//	}
type command struct {
	// name is the command's word on the command line, summary one line
	// on what it does.
	name, summary string
	// setup declares the command's flags on fs and returns what runs the
	// command once they are parsed. Nil for a group.
	setup func(fs *flag.FlagSet) runFunc
	// subs are a group's subcommands.
	subs []*command
}

// runFunc runs a command, writing its output to out.
type runFunc func(ctx context.Context, out io.Writer) error

// commands are strata's commands, by name.
var commands []*command

// register adds c to strata's commands.
func register(c *command) {
	if slices.ContainsFunc(commands, func(o *command) bool { return o.name == c.name }) {
		panic("strata: command " + c.name + " registered twice")
	}
	commands = append(commands, c)
	slices.SortFunc(commands, func(a, b *command) int { return strings.Compare(a.name, b.name) })
}

// errUsage marks an error as the user's: exit status 2.
var errUsage = errors.New("usage")

// run runs strata with args, and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	path, cmds := "strata", commands
	for {
		if len(args) == 0 || isHelp(args[0]) {
			fmt.Fprintf(stdout, "Usage: %s <command> [flags]\n", path)
			if path == "strata" {
				fmt.Fprintln(stdout, "\nstrata operates Strata applications.")
			}
			fmt.Fprintln(stdout, "\nCommands:")
			for _, c := range cmds {
				help(stdout, path, c)
			}
			if len(args) == 0 {
				return 2
			}
			return 0
		}
		i := slices.IndexFunc(cmds, func(c *command) bool { return c.name == args[0] })
		if i < 0 {
			fmt.Fprintf(stderr, "%s: unknown command %q; see %s --help\n", path, args[0], path)
			return 2
		}
		c := cmds[i]
		path, args = path+" "+c.name, args[1:]
		if c.setup == nil {
			cmds = c.subs
			continue
		}
		fs := flag.NewFlagSet(path, flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() {}
		runCmd := c.setup(fs)
		if slices.ContainsFunc(args, isHelp) {
			help(stdout, strings.TrimSuffix(path, " "+c.name), c)
			return 0
		}
		if err := fs.Parse(args); err != nil {
			fmt.Fprintf(stderr, "%s: %v; see %s --help\n", path, err, path)
			return 2
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "%s: unexpected arguments %q; see %s --help\n", path, fs.Args(), path)
			return 2
		}
		if err := runCmd(ctx, stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			if errors.Is(err, errUsage) || errors.Is(err, deadletter.ErrInvalidRequest) {
				return 2
			}
			return 1
		}
		return 0
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// help writes the usage of c, a command under parent, with its flags, and
// of its subcommands.
func help(w io.Writer, parent string, c *command) {
	path := parent + " " + c.name
	if c.setup == nil {
		for _, sub := range c.subs {
			help(w, path, sub)
		}
		return
	}
	fmt.Fprintf(w, "\n  %s [flags]\n        %s\n", path, c.summary)
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	c.setup(fs)
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	for line := range strings.Lines(b.String()) {
		fmt.Fprintf(w, "    %s", line)
	}
}
