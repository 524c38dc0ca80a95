package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:    "describe",
		summary: "print an application's topology, from the admin endpoint of one of its instances",
		setup:   describe,
	})
}

// describeTimeout bounds the request to the admin endpoint.
const describeTimeout = 10 * time.Second

func describe(fs *flag.FlagSet) runFunc {
	admin := fs.String("admin", "", "the admin endpoint of a running instance, `http://host:port` (Config.AdminAddr) (required)")
	format := fs.String("format", "text", "text (Kafka Streams' describe), dot (Graphviz) or mermaid")
	return func(ctx context.Context, out io.Writer) error {
		return describeTopology(ctx, *admin, *format, out)
	}
}

// describeTopology prints in format the topology the admin endpoint admin
// serves.
func describeTopology(ctx context.Context, admin, format string, out io.Writer) error {
	switch format {
	case "text", "dot", "mermaid":
	default:
		return fmt.Errorf("%w: -format: %q is not text, dot or mermaid", errUsage, format)
	}
	if admin == "" {
		return fmt.Errorf("%w: -admin is required", errUsage)
	}
	base := admin
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/topology")
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: -admin: %q is not an http://host:port address", errUsage, admin)
	}
	u.RawQuery = url.Values{"format": {format}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("describe: read %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("describe: %s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = out.Write(body)
	return err
}
