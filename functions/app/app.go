// Package app connects the API handlers to Firestore, Pub/Sub and Cloud
// Storage from a configuration. The Cloud Functions entry points and the
// local stack both build their server here.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"golang.org/x/oauth2/google"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/functions/trigger"
	"github.com/chorus-voice/chorus/shared/blob"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/notice"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
)

// App is a wired API server and the clients it owns.
type App struct {
	Server *api.Server
	closes []func() error
}

// New opens the clients named by cfg and wires the server.
func New(ctx context.Context, cfg *config.Functions) (_ *App, err error) {
	a := &App{}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	st, err := store.Open(ctx, cfg.ProjectID, cfg.AudioRetention)
	if err != nil {
		return nil, err
	}
	a.closes = append(a.closes, st.Close)

	ps, err := pubsub.NewClient(ctx, cfg.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("app: pubsub client: %w", err)
	}
	a.closes = append(a.closes, ps.Close)
	pub := queue.NewPublisher(ps, cfg.Topic, cfg.MaxTextChars)
	a.closes = append(a.closes, func() error { pub.Stop(); return nil })

	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: storage client: %w", err)
	}
	a.closes = append(a.closes, gcs.Close)
	signer, err := blob.NewSigner(gcs, cfg.AudioBucket, blob.SignerOptions{
		TTL: cfg.SignedURLTTL, Email: cfg.SignerEmail, KeyFile: cfg.SigningKeyFile, PublicURL: cfg.PublicStorageURL,
	})
	if err != nil {
		return nil, err
	}

	deps := api.Deps{Config: cfg, Store: st, Publisher: pub, Signer: signer}
	if cfg.CompletionTopic != "" {
		n := queue.NewNotifier(ps, cfg.CompletionTopic)
		a.closes = append(a.closes, func() error { n.Stop(); return nil })
		deps.Announcer = &notice.Announcer{Store: st, Notifier: n, Log: slog.Default()}
	}
	if cfg.WorkerJob != "" {
		hc, err := google.DefaultClient(ctx, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			return nil, fmt.Errorf("app: credentials for the job trigger: %w", err)
		}
		hc.Timeout = 10 * time.Second
		deps.Starter = &trigger.JobStarter{Name: cfg.WorkerJob, Client: hc, MinGap: 30 * time.Second}
	}
	a.Server = api.NewServer(deps)
	return a, nil
}

// Close releases every client, in reverse order of opening.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closes) - 1; i >= 0; i-- {
		errs = append(errs, a.closes[i]())
	}
	a.closes = nil
	return errors.Join(errs...)
}
