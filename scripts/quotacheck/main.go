// Command quotacheck stops a deployment before Terraform applies it when
// the project may not run the NVIDIA L4s its worker job asks for: it reads
// the Cloud Run quota "Total Nvidia L4 GPU allocation without zonal
// redundancy, per project per region" (the job turns zonal redundancy off,
// terraform/worker.tf) through the Cloud Quotas API and compares its value
// in the region with what the job needs. New projects have 0, and without
// this check the first sign is a job that never starts.
//
// Cloud Build runs it (cloudbuild.yaml, step l4-quota) as the deployer,
// which the bootstrap grants roles/cloudquotas.viewer:
//
//	go run ./scripts/quotacheck -project PROJECT -region us-central1 -need 1
package main

import (
	"context"
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

	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	newClient := func(ctx context.Context) (*http.Client, error) {
		c, _, err := htransport.NewClient(ctx, option.WithScopes("https://www.googleapis.com/auth/cloud-platform"))
		return c, err
	}
	if err := run(ctx, os.Args[1:], os.Stdout, log, newClient); err != nil {
		log.Error("quota check failed", "err", err)
		os.Exit(1)
	}
}

// run parses args, reads the quota with the client newClient makes and
// checks it, writing one line of result to out.
func run(ctx context.Context, args []string, out io.Writer, log *slog.Logger, newClient func(context.Context) (*http.Client, error)) error {
	fs := flag.NewFlagSet("quotacheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project := fs.String("project", "", "Google Cloud project id or number")
	region := fs.String("region", "", "region of the worker job (terraform's region)")
	need := fs.Int64("need", 1, "L4s the worker job may hold at once (tasks in parallel × executions)")
	endpoint := fs.String("endpoint", "https://cloudquotas.googleapis.com", "Cloud Quotas API endpoint")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of the whole check")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("arguments: unexpected %q", fs.Args())
	}
	if *project == "" || *region == "" {
		return errors.New("arguments: -project and -region are required")
	}
	if *timeout <= 0 {
		return fmt.Errorf("arguments: -timeout must be positive, got %s", *timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	client, err := newClient(ctx)
	if err != nil {
		return fmt.Errorf("credentials for the Cloud Quotas API: %w", err)
	}
	q, err := FetchQuotaInfo(ctx, client, *endpoint, *project)
	if err != nil {
		return err
	}
	limit, err := Check(q, *project, *region, *need)
	if err != nil {
		return err
	}
	log.Info("L4 quota is enough", "quota", quotaID, "region", *region, "limit", limit, "need", *need)
	if limit < 0 {
		_, err = fmt.Fprintf(out, "quotacheck: %s in %s: unlimited, need %d: ok\n", quotaID, *region, *need)
	} else {
		_, err = fmt.Fprintf(out, "quotacheck: %s in %s: %d, need %d: ok\n", quotaID, *region, limit, *need)
	}
	return err
}
