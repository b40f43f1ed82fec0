package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/config"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/shared/textnorm"
	"github.com/chorus-voice/chorus/synth-job/captions"
	"github.com/chorus-voice/chorus/synth-job/wav"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

const project = "demo-chorus-worker"

func TestMain(m *testing.M) {
	os.Exit(emulators.RunTests(m, emulators.Options{ProjectID: project, Firestore: true, PubSub: true, GCS: true}))
}

var seq atomic.Int64

// fakeSynth stands in for the engine and the encoders: the worker's logic
// is tested here, the engine in synth-job/engine, the encoders in
// synth-job/encode, and all together by synth-job's own tests and
// synth-job/faults. Each item becomes 0.05 s of audio per character (a
// silent WAV, or a few marker bytes standing for Opus and MP3) with one
// cue per sentence; text with nothing to say fails alone as the engine's
// does.
type fakeSynth struct{}

func (fakeSynth) Provider() string { return "cpu" }

func (fakeSynth) Synthesize(_ context.Context, v *store.Voice, items []worker.Item) ([]worker.Audio, error) {
	out := make([]worker.Audio, len(items))
	for i, it := range items {
		if !textnorm.SpeakableIn(it.Text, v.Language) {
			out[i].Err = worker.Permanent("text_unsupported", "The voice found nothing it could say in this text.", nil)
			continue
		}
		n := len([]rune(it.Text)) * v.SampleRate / 20
		d := time.Duration(n) * time.Second / time.Duration(v.SampleRate)
		var data []byte
		switch it.Format {
		case job.FormatWAV:
			file, err := wav.New(n, v.SampleRate)
			if err != nil {
				return nil, err
			}
			data = file
		case job.FormatOpus:
			data = []byte("OggS fake opus")
		case job.FormatMP3:
			data = []byte("\xff\xfb fake mp3")
		default:
			return nil, fmt.Errorf("fake synth: format %q", it.Format)
		}
		sents := textnorm.Sentences(it.Text, v.Language)
		cues := make([]captions.Cue, len(sents))
		for k, s := range sents {
			cues[k] = captions.Cue{Start: d * time.Duration(k) / time.Duration(len(sents)), End: d * time.Duration(k+1) / time.Duration(len(sents)), Text: s}
		}
		out[i] = worker.Audio{Data: data, SampleRate: v.SampleRate, Duration: d, Cues: cues}
	}
	return out, nil
}

// seed writes the seed file's group (voices as records only: the fake
// synthesiser needs no model) and a member whose voice does not exist.
func seed(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for _, v := range []*store.Voice{
		{ID: "chorus-demo-en", Label: "demo", ModelObject: "voices/en.onnx", ConfigObject: "voices/en.onnx.json", SampleRate: 22050, Language: "en-us", NumSpeakers: 4, Demo: true},
		{ID: "chorus-demo-ko", Label: "demo", ModelObject: "voices/ko.onnx", ConfigObject: "voices/ko.onnx.json", SampleRate: 22050, Language: "ko", NumSpeakers: 1, Demo: true},
	} {
		if err := st.PutVoice(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range []*store.Member{
		{ID: "aria", VoiceID: "chorus-demo-en", SpeakerID: 0}, {ID: "juno", VoiceID: "chorus-demo-en", SpeakerID: 1},
		{ID: "sol", VoiceID: "chorus-demo-en", SpeakerID: 2}, {ID: "mika", VoiceID: "chorus-demo-en", SpeakerID: 3},
		{ID: "hana", VoiceID: "chorus-demo-ko"}, {ID: "ghost", VoiceID: "no-such-voice"},
	} {
		m.Name, m.Group, m.Active, m.Order = m.ID, "Starlight Avenue", true, i
		if err := st.PutMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

// world is one test's queue, buckets and seed data, with names of its own.
type world struct {
	t      *testing.T
	cfg    *config.Worker
	st     *store.Store
	ps     *pubsub.Client
	gcs    *storage.Client
	synth  worker.Synth
	keep   string // a subscription on the dead-letter topic that keeps letters
	topic  string
	cancel context.CancelFunc
	done   chan error
}

func newWorld(t *testing.T) *world {
	t.Helper()
	emulators.Require(t)
	ctx := context.Background()
	n := seq.Add(1)
	w := &world{t: t, topic: fmt.Sprintf("req-%d-%d", time.Now().UnixNano(), n)}
	var err error
	if w.ps, err = pubsub.NewClient(ctx, project); err != nil {
		t.Fatal(err)
	}
	if w.gcs, err = storage.NewClient(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, project, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	t.Cleanup(func() { w.ps.Close(); w.gcs.Close(); st.Close() })

	sub, dlq := w.topic+"-work", w.topic+"-dead"
	sweep, keep := dlq+"-sweep", dlq+"-keep"
	w.keep = keep
	if err := emulators.EnsureTopology(ctx, w.ps, emulators.Topology{ProjectID: project, Topic: w.topic, Subscription: sub,
		DeadLetterTopic: dlq, DeadLetterSubscriptions: []string{sweep, keep}, MaxDeliveryAttempts: 5,
		AckDeadline: 10 * time.Second, MinBackoff: time.Second, MaxBackoff: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	audio, models := w.topic+"-audio", w.topic+"-models"
	for _, b := range []string{audio, models} {
		if err := w.gcs.Bucket(b).Create(ctx, project, nil); err != nil {
			t.Fatal(err)
		}
	}
	seed(t, st)
	w.cfg = &config.Worker{ProjectID: project, Subscription: sub, DeadLetterSubscription: sweep, DeadLetterTopic: dlq,
		AudioBucket: audio, ModelsBucket: models, ORTLibrary: "/unused/libonnxruntime.so", ExecutionProvider: "cpu",
		VoiceCacheDir: t.TempDir(), SessionCache: 2, Concurrency: 2, BatchSize: 4, BatchWait: 30 * time.Millisecond,
		Lease: 15 * time.Second, MaxAttempts: 3, IdleTimeout: 2 * time.Second, ShutdownGrace: 5 * time.Second, MaxTextChars: 1000,
		GPUMemLimit: config.MinGPUMemLimit, AudioRetention: 7 * 24 * time.Hour}
	if err := w.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w.synth = fakeSynth{}
	return w
}

// start runs a worker until the test ends.
func (w *world) start(mode worker.Mode) *worker.Worker {
	ctx, cancel := context.WithCancel(context.Background())
	wk := worker.New(worker.Deps{Config: w.cfg, Store: w.st, PubSub: w.ps, Audio: w.gcs.Bucket(w.cfg.AudioBucket), Synth: w.synth})
	w.cancel, w.done = cancel, make(chan error, 1)
	go func() { w.done <- wk.Run(ctx, mode) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			w.t.Error("worker did not stop within 30 s of cancel")
		}
	})
	return wk
}

// enqueue creates a job the way the synthesize function does and publishes
// its message `copies` times.
func (w *world) enqueue(member, text string, copies int) *job.Job {
	w.t.Helper()
	return w.enqueueCopies(member, text, copies, nil)
}

// enqueueWith is enqueue with a change to the job before it is written.
func (w *world) enqueueWith(member, text string, change func(*job.Job)) *job.Job {
	w.t.Helper()
	return w.enqueueCopies(member, text, 1, change)
}

// enqueueFormat is enqueue for a job in the given format.
func (w *world) enqueueFormat(member, text, format string, copies int) *job.Job {
	w.t.Helper()
	return w.enqueueCopies(member, text, copies, func(j *job.Job) { j.Format = format })
}

func (w *world) enqueueCopies(member, text string, copies int, change func(*job.Job)) *job.Job {
	w.t.Helper()
	ctx := context.Background()
	m, err := w.st.GetMember(ctx, member)
	if err != nil {
		w.t.Fatal(err)
	}
	j := job.New(m.ID, m.VoiceID, m.SpeakerID, text, 1, time.Now())
	if change != nil {
		change(j)
	}
	created, err := w.st.CreateJobs(ctx, []*job.Job{j})
	if err != nil {
		w.t.Fatal(err)
	}
	j = created[0].Job
	msg := message.ForJob(j)
	for i := 0; i < copies; i++ {
		w.publish(msg)
	}
	return j
}

func (w *world) publish(msg *message.SynthesisRequest) {
	w.t.Helper()
	pub := queue.NewPublisher(w.ps, w.topic, 1000)
	defer pub.Stop()
	if _, err := pub.Publish(context.Background(), []*message.SynthesisRequest{msg}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) publishRaw(data []byte, attrs map[string]string) {
	w.t.Helper()
	p := w.ps.Publisher(w.topic)
	defer p.Stop()
	if _, err := p.Publish(context.Background(), &pubsub.Message{Data: data, Attributes: attrs}).Get(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// waitFinal waits until the job succeeded or failed.
func (w *world) waitFinal(id string, within time.Duration) *job.Job {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := w.st.GetJob(context.Background(), id)
		if err != nil {
			w.t.Fatal(err)
		}
		if j.Status.Terminal() {
			return j
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("job %s still %s after %s (attempts %d, error %+v)", id, j.Status, within, j.Attempts, j.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) audioObjects() []string {
	var names []string
	it := w.gcs.Bucket(w.cfg.AudioBucket).Objects(context.Background(), nil)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names
		}
		if err != nil {
			w.t.Fatal(err)
		}
		names = append(names, a.Name)
	}
}

// deadLetters collects what reaches the keeping dead-letter subscription within wait.
func (w *world) deadLetters(want int, wait time.Duration) []*pubsub.Message {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var mu sync.Mutex
	var got []*pubsub.Message
	_ = w.ps.Subscriber(w.keep).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if len(got) >= want {
			cancel()
		}
	})
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestHappyPathWritesWAVAndSucceeds(t *testing.T) {
	w := newWorld(t)
	w.start(worker.Serve)
	short := w.enqueue("aria", "Hello there.", 1)
	long := w.enqueue("aria", "Hello there. This sentence is a good deal longer than the first one, so it takes longer to say.", 1)
	ko := w.enqueue("hana", "안녕하세요. 오늘 날씨가 정말 좋네요!", 1)
	var durations []float64
	for _, j := range []*job.Job{short, long, ko} {
		got := w.waitFinal(j.ID, 30*time.Second)
		if got.Status != job.Succeeded || got.Output == nil || got.Output.Object != j.ObjectName() || got.Provider != "cpu" {
			t.Fatalf("job %s: %+v (error %+v)", j.ID, got, got.Error)
		}
		r, err := w.gcs.Bucket(w.cfg.AudioBucket).Object(got.Output.Object).NewReader(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		a, err := wav.Decode(data)
		if err != nil {
			t.Fatalf("stored audio is not a WAV: %v", err)
		}
		if a.SampleRate != got.Output.SampleRate || int64(len(data)) != got.Output.Bytes || got.Output.DurationSeconds <= 0 {
			t.Fatalf("output record %+v does not match the WAV (%d Hz, %d bytes)", got.Output, a.SampleRate, len(data))
		}
		durations = append(durations, got.Output.DurationSeconds)
	}
	if !(durations[1] > durations[0]*2) {
		t.Fatalf("longer text should give longer audio: %v", durations)
	}
}

// Each job is stored in its format, with its extension and Content-Type,
// and its captions beside it; a producer's message names its format too.
func TestFormatsAndCaptionsAreStored(t *testing.T) {
	w := newWorld(t)
	w.start(worker.Serve)
	text := "Hello there. How are you today? Fine!"
	jobs := []*job.Job{
		w.enqueueFormat("aria", text, job.FormatWAV, 1),
		w.enqueueFormat("juno", text, job.FormatOpus, 1),
		w.enqueueFormat("hana", "안녕하세요. 또 만나요!", job.FormatMP3, 1),
	}
	msg := &message.SynthesisRequest{V: message.Version, MemberID: "sol", Text: text, RequestID: "producer-" + job.NewID(),
		BatchID: job.NewID(), Format: job.FormatOpus}
	w.publish(msg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := w.st.BatchJobs(context.Background(), msg.BatchID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			jobs = append(jobs, got[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the producer's message made no job")
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := map[string]struct{ ext, contentType, prefix string }{
		job.FormatWAV: {".wav", "audio/wav", "RIFF"}, job.FormatOpus: {".opus", "audio/ogg", "OggS"}, job.FormatMP3: {".mp3", "audio/mpeg", "\xff"},
	}
	for _, j := range jobs {
		got := w.waitFinal(j.ID, 30*time.Second)
		wf := want[got.AudioFormat()]
		if got.Status != job.Succeeded || got.Output.Object != got.ObjectName() || !strings.HasSuffix(got.Output.Object, wf.ext) ||
			got.Output.CaptionsObject != got.CaptionsObjectName() {
			t.Fatalf("job %s (%s): %s %+v", j.ID, got.Format, got.Status, got.Output)
		}
		if j.RequestID != "" && strings.HasPrefix(j.RequestID, "producer-") && got.Format != job.FormatOpus {
			t.Errorf("the producer's job has format %q", got.Format)
		}
		data, attrs := w.object(got.Output.Object)
		if attrs.ContentType != wf.contentType || !strings.HasPrefix(string(data), wf.prefix) {
			t.Errorf("%s: Content-Type %s, starts %q", got.Output.Object, attrs.ContentType, data[:min(len(data), 4)])
		}
		vtt, vattrs := w.object(got.Output.CaptionsObject)
		cues, err := captions.Parse(vtt)
		if err != nil || vattrs.ContentType != "text/vtt" {
			t.Fatalf("%s: %v, Content-Type %s", got.Output.CaptionsObject, err, vattrs.ContentType)
		}
		lang := "en-us"
		if got.MemberID == "hana" {
			lang = "ko"
		}
		if want := textnorm.Sentences(got.Text, lang); len(cues) != len(want) || cues[len(cues)-1].Text != want[len(want)-1] {
			t.Errorf("%s: cues %+v for sentences %q", got.Output.CaptionsObject, cues, want)
		}
	}
}

// object reads an object of the audio bucket and its attributes.
func (w *world) object(name string) ([]byte, *storage.ObjectAttrs) {
	w.t.Helper()
	o := w.gcs.Bucket(w.cfg.AudioBucket).Object(name)
	r, err := o.NewReader(context.Background())
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		w.t.Fatal(err)
	}
	attrs, err := o.Attrs(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return data, attrs
}

func TestDuplicateDeliveryGivesOneResult(t *testing.T) {
	w := newWorld(t)
	j := w.enqueue("juno", "Say it once, even if you hear it three times.", 3)
	w.start(worker.Serve)
	got := w.waitFinal(j.ID, 30*time.Second)
	if got.Status != job.Succeeded || got.Attempts != 1 {
		t.Fatalf("job %+v", got)
	}
	time.Sleep(2 * time.Second) // let the duplicates be handled
	// Listed by name: the captions, then the audio.
	if objs := w.audioObjects(); len(objs) != 2 || objs[0] != j.CaptionsObjectName() || objs[1] != j.ObjectName() {
		t.Fatalf("audio objects %v, want exactly %s and %s", objs, j.ObjectName(), j.CaptionsObjectName())
	}
	again, _ := w.st.GetJob(context.Background(), j.ID)
	if again.Attempts != 1 || !again.FinishedAt.Equal(got.FinishedAt) {
		t.Fatalf("duplicates touched the finished job: %+v", again)
	}
}

// flaky fails the first n batches with a transient error.
type flaky struct {
	worker.Synth
	left atomic.Int64
}

func (f *flaky) Synthesize(ctx context.Context, v *store.Voice, items []worker.Item) ([]worker.Audio, error) {
	if f.left.Add(-1) >= 0 {
		return nil, errors.New("transient: GPU busy")
	}
	return f.Synth.Synthesize(ctx, v, items)
}

func TestRetryableFailureIsRedelivered(t *testing.T) {
	w := newWorld(t)
	f := &flaky{Synth: w.synth}
	f.left.Store(1)
	w.synth = f
	w.start(worker.Serve)
	j := w.enqueue("sol", "Second time lucky.", 1)
	got := w.waitFinal(j.ID, 40*time.Second)
	if got.Status != job.Succeeded || got.Attempts != 2 {
		t.Fatalf("want success on the second attempt, got %s after %d (error %+v)", got.Status, got.Attempts, got.Error)
	}
}

func TestRetriesExhaustedFailsJobAndDeadLetters(t *testing.T) {
	w := newWorld(t)
	f := &flaky{Synth: w.synth}
	f.left.Store(1 << 30)
	w.synth = f
	w.start(worker.Serve)
	j := w.enqueue("mika", "This never works.", 1)
	got := w.waitFinal(j.ID, 60*time.Second)
	if got.Status != job.Failed || got.Error == nil || got.Error.Code != "retries_exhausted" || got.Attempts != w.cfg.MaxAttempts {
		t.Fatalf("job %+v error %+v", got, got.Error)
	}
	letters := w.deadLetters(1, 30*time.Second)
	if len(letters) != 1 || letters[0].Attributes[queue.AttrJobID] != j.ID || letters[0].Attributes["chorus_error_code"] != "retries_exhausted" {
		t.Fatalf("dead letters: %d", len(letters))
	}
}

func TestPoisonMessagesFailJobsAndGoToDeadLetterTopic(t *testing.T) {
	w := newWorld(t)
	wk := w.start(worker.Serve)
	ctx := context.Background()

	// Malformed JSON whose attribute still names its job.
	bad := job.New("aria", "chorus-demo-en", 0, "x", 1, time.Now())
	if _, err := w.st.CreateJobs(ctx, []*job.Job{bad}); err != nil {
		t.Fatal(err)
	}
	w.publishRaw([]byte(`{"v":1,"job_id":`), map[string]string{queue.AttrJobID: bad.ID})
	// A member whose voice does not exist.
	ghost := w.enqueue("ghost", "Is anyone there?", 1)
	// Text the voice cannot say.
	mute := w.enqueue("aria", "!!! ... ???", 1)
	// And a good job after them: the worker keeps going.
	good := w.enqueue("aria", "Still here.", 1)

	for id, code := range map[string]string{bad.ID: "invalid_message", ghost.ID: "voice_not_found", mute.ID: "text_unsupported"} {
		got := w.waitFinal(id, 30*time.Second)
		if got.Status != job.Failed || got.Error == nil || got.Error.Code != code {
			t.Errorf("job %s: %s %+v, want failed %s", id, got.Status, got.Error, code)
		}
	}
	if got := w.waitFinal(good.ID, 30*time.Second); got.Status != job.Succeeded {
		t.Fatalf("good job after poison: %s %+v", got.Status, got.Error)
	}
	letters := w.deadLetters(3, 30*time.Second)
	codes := map[string]string{}
	for _, m := range letters {
		codes[m.Attributes[queue.AttrJobID]] = m.Attributes["chorus_error_code"]
	}
	if codes[bad.ID] != "invalid_message" || codes[ghost.ID] != "voice_not_found" || codes[mute.ID] != "text_unsupported" {
		t.Fatalf("dead letters %v", codes)
	}
	if wk.Processed() < 4 {
		t.Fatalf("processed %d", wk.Processed())
	}
}

func TestDirectProducerMessagesCreateTheirJobOnce(t *testing.T) {
	w := newWorld(t)
	w.start(worker.Serve)
	msg := &message.SynthesisRequest{V: message.Version, MemberID: "aria", Text: "From the batch pipeline.", RequestID: "nightly-" + job.NewID(), BatchID: job.NewID()}
	w.publish(msg)
	w.publish(msg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs, err := w.st.BatchJobs(context.Background(), msg.BatchID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 1 {
			t.Fatalf("%d jobs for one request_id", len(jobs))
		}
		if len(jobs) == 1 && jobs[0].Status == job.Succeeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("direct message not processed: %+v", jobs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if objs := w.audioObjects(); len(objs) != 2 {
		t.Fatalf("%d objects (%v), want the audio and its captions", len(objs), objs)
	}
}

func TestDrainExitsWhenIdle(t *testing.T) {
	w := newWorld(t)
	j := w.enqueue("aria", "Drain me.", 1)
	wk := worker.New(worker.Deps{Config: w.cfg, Store: w.st, PubSub: w.ps, Audio: w.gcs.Bucket(w.cfg.AudioBucket), Synth: w.synth})
	done := make(chan error, 1)
	go func() { done <- wk.Run(context.Background(), worker.Drain) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("drain did not exit")
	}
	if got, _ := w.st.GetJob(context.Background(), j.ID); got.Status != job.Succeeded {
		t.Fatalf("drain exited before finishing: %s", got.Status)
	}
}

func TestOrphanedQueuedJobIsRepublished(t *testing.T) {
	w := newWorld(t)
	w.cfg.Topic, w.cfg.RequeueAfter = w.topic, 10*time.Second
	ctx := context.Background()
	m, err := w.st.GetMember(ctx, "aria")
	if err != nil {
		t.Fatal(err)
	}
	// An enqueue function wrote this job a minute ago and died before publishing.
	orphan := job.New(m.ID, m.VoiceID, m.SpeakerID, "Nobody published me.", 1, time.Now().Add(-time.Minute))
	fresh := job.New(m.ID, m.VoiceID, m.SpeakerID, "I was just written.", 1, time.Now())
	stranded := job.New(m.ID, m.VoiceID, m.SpeakerID, "My worker died and my message was lost.", 1, time.Now().Add(-time.Minute))
	if _, err := w.st.CreateJobs(ctx, []*job.Job{orphan, fresh, stranded}); err != nil {
		t.Fatal(err)
	}
	// A worker claimed it and died; its lease lapsed a minute ago.
	if _, o, err := w.st.Claim(ctx, stranded.ID, "dead-worker", -time.Minute); err != nil || o != store.Claimed {
		t.Fatal(o, err)
	}
	w.start(worker.Serve)
	if got := w.waitFinal(orphan.ID, 30*time.Second); got.Status != job.Succeeded {
		t.Fatalf("orphan: %s %+v", got.Status, got.Error)
	}
	if got := w.waitFinal(stranded.ID, 30*time.Second); got.Status != job.Succeeded || got.Attempts != 2 {
		t.Fatalf("stranded running job: %s after %d attempts %+v", got.Status, got.Attempts, got.Error)
	}
	// A job younger than CHORUS_REQUEUE_AFTER is left to its own message.
	if got, _ := w.st.GetJob(ctx, fresh.ID); got.Status != job.Queued {
		t.Fatalf("a fresh queued job was re-published: %s", got.Status)
	}
}
