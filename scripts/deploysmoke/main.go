// Command deploysmoke checks a deployed Chorus once, the way a fan's browser
// uses it, right after Cloud Build applied Terraform (cloudbuild.yaml, step
// smoke): it lists the members (profiles), queues one synthesis with a text
// nobody asked for before (synthesize; the result cache cannot answer it),
// polls status until the job ends, and fetches the V4 signed audio URL,
// which must answer 200 with a WAV. The first synthesis of a quiet
// deployment includes a worker cold start (on an L4, about a minute), so the
// default deadline is generous.
//
//	terraform -chdir=terraform output -json function_urls > urls.json
//	go run ./scripts/deploysmoke -urls urls.json
//
// A deployment without members yet (no voice imported) cannot synthesise:
// with -empty=skip (Cloud Build's default) the check then stops after
// profiles answered, saying so; with -empty=fail it fails.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log, &http.Client{Timeout: 30 * time.Second}); err != nil {
		log.Error("deployment smoke check failed", "err", err)
		os.Exit(1)
	}
}

// run parses args and checks the deployment with client.
func run(ctx context.Context, args []string, log *slog.Logger, client *http.Client) error {
	fs := flag.NewFlagSet("deploysmoke", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	urlsFile := fs.String("urls", "", "JSON object of the function URLs by name (terraform output -json function_urls)")
	member := fs.String("member", "", "member to synthesise with (default: the first one profiles lists)")
	empty := fs.String("empty", "skip", "when no member is registered: skip the synthesis, or fail")
	timeout := fs.Duration("timeout", 10*time.Minute, "deadline for the whole check, worker cold start included")
	poll := fs.Duration("poll", 2*time.Second, "interval between status polls")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("arguments: unexpected %q", fs.Args())
	}
	if *urlsFile == "" {
		return errors.New("arguments: -urls is required")
	}
	if *empty != "skip" && *empty != "fail" {
		return fmt.Errorf("arguments: -empty must be skip or fail, got %q", *empty)
	}
	if *timeout <= 0 || *poll <= 0 {
		return errors.New("arguments: -timeout and -poll must be positive")
	}
	raw, err := os.ReadFile(*urlsFile)
	if err != nil {
		return fmt.Errorf("function URLs: %w", err)
	}
	var urls map[string]string
	if err := json.Unmarshal(raw, &urls); err != nil {
		return fmt.Errorf("function URLs in %s: %w", *urlsFile, err)
	}
	ep, err := newEndpoints(urls)
	if err != nil {
		return fmt.Errorf("function URLs in %s: %w", *urlsFile, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &checker{
		client: client, ep: ep, log: log, poll: *poll,
		text: fmt.Sprintf("This is the deployment check number %d.", time.Now().UnixNano()),
	}
	return c.check(ctx, *member, *empty == "fail")
}
