package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestHelp: `strata help` and `strata --help` list every command;
// `strata <command> --help` lists the command's flags.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		var out strings.Builder
		if err := run(context.Background(), args, &out, &out); err != nil {
			t.Fatalf("run(%q): %v", args, err)
		}
		for _, name := range []string{"describe", "lag", "reset", "topics"} {
			if !strings.Contains(out.String(), "\n  "+name+" ") {
				t.Errorf("run(%q) does not list %s:\n%s", args, name, out.String())
			}
		}
	}
	for name, flags := range map[string][]string{
		"describe": {"-admin", "-format"},
		"lag":      {"-brokers", "-application-id", "-tls", "-sasl-mechanism"},
		"reset":    {"-application-id", "-input-topics", "-to-earliest", "-to-datetime", "-by-duration", "-state-dir", "-include-dead-letter", "-include-retry", "-dry-run"},
		"topics":   {"-application-id", "-dead-letter-topic"},
	} {
		for _, args := range [][]string{{name, "--help"}, {"help", name}} {
			var out, errOut strings.Builder
			err := run(context.Background(), args, &out, &errOut)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("run(%q) = %v, want flag.ErrHelp", args, err)
			}
			for _, f := range flags {
				if !strings.Contains(errOut.String(), "  "+f+" ") && !strings.Contains(errOut.String(), "  "+f+"\n") {
					t.Errorf("run(%q) does not list %s:\n%s", args, f, errOut.String())
				}
			}
		}
	}
}

// TestFlagValidation: each command refuses flags that make no sense,
// saying which, before it talks to anything.
func TestFlagValidation(t *testing.T) {
	t.Setenv(saslPasswordEnv, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"describe"}, "--admin is required"},
		{[]string{"describe", "--admin", "http://x:1", "--format", "svg"}, `--format: "svg"`},
		{[]string{"describe", "--admin", "http://x:1", "extra"}, "unexpected arguments"},
		{[]string{"lag"}, "--application-id is required"},
		{[]string{"lag", "--application-id", "a b"}, "is not an application ID"},
		{[]string{"lag", "--application-id", "a", "--brokers", ","}, "--brokers"},
		{[]string{"lag", "--application-id", "a", "--sasl-mechanism", "gssapi"}, "--sasl-mechanism"},
		{[]string{"lag", "--application-id", "a", "--sasl-mechanism", "plain"}, "needs --sasl-user"},
		{[]string{"lag", "--application-id", "a", "--sasl-mechanism", "plain", "--sasl-user", "u"}, saslPasswordEnv},
		{[]string{"lag", "--application-id", "a", "--sasl-user", "u"}, "needs --sasl-mechanism"},
		{[]string{"topics"}, "--application-id is required"},
		{[]string{"reset", "--application-id", "a", "--to-earliest", "--by-duration", "1h"}, "at most one of"},
		{[]string{"reset", "--application-id", "a", "--to-datetime", "yesterday"}, "--to-datetime"},
		{[]string{"reset", "--application-id", "a", "--by-duration", "-1h"}, "--by-duration must be positive"},
		{[]string{"reset", "--application-id", "a", "--dead-letter-topic", "d"}, "needs --include-dead-letter"},
	} {
		var out strings.Builder
		err := run(context.Background(), tc.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestInternalKind(t *testing.T) {
	for topic, want := range map[string]string{
		"wc-counts-changelog":                   kindChangelog,
		"wc-counts-repartition":                 kindRepartition,
		"wc-fk-subscription-registration-topic": kindSubscription,
		"wc-fk-subscription-response-topic":     kindSubscription,
		"wc-payments-retry":                     kindRetry,
		"wc-dead-letter":                        kindDeadLetter,
		"wc-changelog":                          "",
		"lines":                                 "",
		"other-counts-changelog":                "",
		"wcx-counts-changelog":                  "",
		"wc-KSTREAM-AGGREGATE-STATE-STORE-0000000003-changelog": kindChangelog,
	} {
		got, ok := internalKind("wc", "wc-dead-letter", topic)
		if got != want || ok != (want != "") {
			t.Errorf("internalKind(wc, %q) = %q, %v; want %q", topic, got, ok, want)
		}
	}
}
