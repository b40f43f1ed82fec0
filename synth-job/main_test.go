package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/captions"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/internal/benchvoice"
	"github.com/chorus-voice/chorus/synth-job/internal/testenv"
	"github.com/chorus-voice/chorus/synth-job/voicecache"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

const project = "demo-chorus-synthjob"

func TestMain(m *testing.M) {
	os.Exit(emulators.RunTests(m, emulators.Options{ProjectID: project, Firestore: true, PubSub: true, GCS: true}))
}

// The worker with the real engine, on the emulators: jobs for the four
// speakers of voices whose sid is declared [1] — the generated demo voice
// and Piper's own four-speaker export — pulled together, run one speaker
// per model run, and all succeed on their first attempt; nothing reaches
// the dead-letter topic. The jobs ask for WAV, Opus and MP3 in turn: each
// object is that format, with captions beside it (one cue per sentence,
// the last ending with the audio).
func TestSpeakersOfPiperExportsInOneBatch(t *testing.T) {
	stack := emulators.Require(t)
	lib := testenv.ORTLibrary(t)
	bench := testenv.BenchVoice(t, benchvoice.Medium4Spk)
	ctx := t.Context()
	if err := stack.ResetFirestore(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gcs.Close()
	st, err := store.Open(ctx, project, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	topic, sub, dlq, keep := "requests", "work", "dead", "dead-keep"
	if err := emulators.EnsureTopology(ctx, ps, emulators.Topology{ProjectID: project, Topic: topic, Subscription: sub,
		DeadLetterTopic: dlq, DeadLetterSubscriptions: []string{keep}, MaxDeliveryAttempts: 5,
		AckDeadline: 20 * time.Second, MinBackoff: time.Second, MaxBackoff: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// The emulator keeps buckets between runs of the test (-count=N).
	run := time.Now().UnixNano()
	audioBucket, modelsBucket := fmt.Sprintf("audio-%d", run), fmt.Sprintf("models-%d", run)
	for _, b := range []string{audioBucket, modelsBucket} {
		if err := gcs.Bucket(b).Create(ctx, project, nil); err != nil {
			t.Fatal(err)
		}
	}
	im := &voiceimport.Importer{Store: st, Models: gcs.Bucket(modelsBucket), ORTLibrary: lib}
	seed, err := voiceimport.ReadSeed("../scripts/seed/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Seed(ctx, seed); err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile(bench.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	cfgJSON, err := os.ReadFile(bench.ModelPath + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Import(ctx, &voiceimport.Voice{ID: "bench-4spk", Label: "bench", Model: model, Config: cfgJSON}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := st.PutMember(ctx, &store.Member{ID: fmt.Sprintf("bench-%d", i), Name: "Bench", Group: "Bench",
			VoiceID: "bench-4spk", SpeakerID: i, Active: true}); err != nil {
			t.Fatal(err)
		}
	}

	// Every job is queued before the worker starts, so that they arrive
	// in one pull and one batch per voice.
	pub := queue.NewPublisher(ps, topic, 1000)
	var jobs []*job.Job
	for i, m := range []string{"aria", "juno", "sol", "mika", "bench-0", "bench-1", "bench-2", "bench-3", "bench-2", "aria"} {
		mem, err := st.GetMember(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		nj := job.New(mem.ID, mem.VoiceID, mem.SpeakerID, fmt.Sprintf("Sentence number %d. And a second one.", i), 1, time.Now())
		nj.Format = job.Formats[i%len(job.Formats)]
		created, err := st.CreateJobs(ctx, []*job.Job{nj})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, created[0].Job)
		if _, err := pub.Publish(ctx, []*message.SynthesisRequest{message.ForJob(created[0].Job)}); err != nil {
			t.Fatal(err)
		}
	}
	pub.Stop()

	cfg := &config.Worker{ProjectID: project, Subscription: sub, DeadLetterTopic: dlq, AudioBucket: audioBucket,
		ModelsBucket: modelsBucket, ORTLibrary: lib, ExecutionProvider: "cpu", VoiceCacheDir: t.TempDir(),
		SessionCache: 2, Concurrency: 2, BatchSize: 16, BatchWait: time.Second, Lease: 2 * time.Minute,
		MaxAttempts: 5, IdleTimeout: 3 * time.Second, ShutdownGrace: 5 * time.Second, MaxTextChars: 1000,
		GPUMemLimit: config.MinGPUMemLimit, AudioRetention: 24 * time.Hour}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{LibraryPath: lib, Provider: engine.ProviderCPU, IntraOpThreads: 2, Logger: slog.Default()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	voices, err := voicecache.New(cfg.VoiceCacheDir, voicecache.GCS{Bucket: gcs.Bucket(modelsBucket)}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(worker.Deps{Config: cfg, Store: st, PubSub: ps, Audio: gcs.Bucket(audioBucket), Synth: NewEngineSynth(eng, voices)})
	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := w.Run(runCtx, worker.Drain); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for _, j := range jobs {
		got, err := st.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != job.Succeeded || got.Attempts != 1 {
			t.Errorf("job of %s (speaker %d of %s): %s after %d attempts, error %+v", j.MemberID, j.SpeakerID, j.VoiceID,
				got.Status, got.Attempts, got.Error)
			continue
		}
		audio, vtt := read(t, gcs.Bucket(audioBucket), got.Output.Object), read(t, gcs.Bucket(audioBucket), got.Output.CaptionsObject)
		switch got.Format {
		case job.FormatWAV:
			if string(audio[:4]) != "RIFF" {
				t.Errorf("%s is not a WAV", got.Output.Object)
			}
		case job.FormatOpus:
			if string(audio[:4]) != "OggS" || string(audio[28:36]) != "OpusHead" || got.Output.SampleRate != 48000 {
				t.Errorf("%s is not Ogg Opus at 48 kHz", got.Output.Object)
			}
		case job.FormatMP3:
			if audio[0] != 0xff || audio[1]&0xe0 != 0xe0 {
				t.Errorf("%s does not start with an MPEG frame", got.Output.Object)
			}
		}
		cues, err := captions.Parse(vtt)
		if err != nil || len(cues) != 2 || cues[0].Text != fmt.Sprintf("Sentence number %d.", jobsIndex(jobs, j)) {
			t.Errorf("%s: %v, cues %+v", got.Output.CaptionsObject, err, cues)
			continue
		}
		if d := cues[1].End.Seconds() - got.Output.DurationSeconds; d > 0.02 || d < -0.02 {
			t.Errorf("%s: the last cue ends at %v, the audio at %.3f s", got.Output.CaptionsObject, cues[1].End, got.Output.DurationSeconds)
		}
	}
	if runs := eng.Stats().Runs; runs < 8 {
		t.Errorf("%d model runs for 8 speakers of two sid [1] voices, want one speaker per run", runs)
	}
	dctx, dcancel := context.WithTimeout(ctx, 3*time.Second)
	defer dcancel()
	var letters int
	_ = ps.Subscriber(keep).Receive(dctx, func(_ context.Context, m *pubsub.Message) { letters++; m.Ack() })
	if letters != 0 {
		t.Errorf("%d messages reached the dead-letter topic", letters)
	}
}

func jobsIndex(jobs []*job.Job, j *job.Job) int {
	for i, x := range jobs {
		if x == j {
			return i
		}
	}
	return -1
}

func read(t *testing.T, b *storage.BucketHandle, name string) []byte {
	t.Helper()
	r, err := b.Object(name).NewReader(t.Context())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The engine's permanent per-item failures reach the job with their codes.
func TestItemErrorCodes(t *testing.T) {
	for err, code := range map[error]string{
		engine.ErrNoPhonemes: "text_unsupported", engine.ErrSpeaker: "speaker_not_found",
		engine.ErrSpeed: "speed_out_of_range", engine.ErrInvalidVoice: "voice_invalid", engine.ErrTooLong: "text_too_long_for_device",
	} {
		var pe *worker.PermanentError
		if !errors.As(itemError(fmt.Errorf("wrapped: %w", err)), &pe) || pe.Code != code {
			t.Errorf("%v → %v, want permanent %s", err, itemError(err), code)
		}
	}
	transient := errors.New("CUDA failure")
	if got := itemError(transient); got != transient {
		t.Errorf("a transient error became %v", got)
	}
}
