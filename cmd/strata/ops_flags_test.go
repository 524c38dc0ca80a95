package main

import (
	"strings"
	"testing"
)

// The operations commands (describe, lag, reset, topics): flag validation
// and topic kinds; ops_test.go runs them against a broker.

// TestFlagValidation: each command refuses flags that make no sense,
// saying which, before it talks to anything.
func TestFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"describe"}, "-admin is required"},
		{[]string{"describe", "--admin", "http://x:1", "--format", "svg"}, `-format: "svg"`},
		{[]string{"describe", "--admin", "http://x:1", "extra"}, "unexpected arguments"},
		{[]string{"lag"}, "-app is required"},
		{[]string{"lag", "--app", "a b"}, "is not an application ID"},
		{[]string{"lag", "--app", "a", "--brokers", ","}, "-brokers"},
		{[]string{"lag", "--app", "a", "--sasl-mechanism", "gssapi"}, "-sasl-mechanism"},
		{[]string{"lag", "--app", "a", "--sasl-user", "u"}, "-sasl-user without -sasl-mechanism"},
		{[]string{"topics"}, "-app is required"},
		{[]string{"reset", "--app", "a", "--to-earliest", "--by-duration", "1h"}, "at most one of"},
		{[]string{"reset", "--app", "a", "--to-datetime", "yesterday"}, "-to-datetime"},
		{[]string{"reset", "--app", "a", "--by-duration", "-1h"}, "-by-duration must be positive"},
		{[]string{"reset", "--app", "a", "--dead-letter-topic", "d"}, "needs -include-dead-letter"},
	} {
		code, _, errOut := strata(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("strata %q exited %d: %s; want 2 and an error mentioning %q", tc.args, code, errOut, tc.want)
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
