package faults_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/chorus-voice/chorus/scripts/emulators"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/queue"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

const (
	project      = "demo-chorus-faults"
	modelsBucket = "models"
	// The demo seed's English member and a member whose voice is not registered.
	member      = "aria"
	ghostMember = "ghost"
	// The shortest ack deadline and lease the services accept, so that
	// redelivery after a crash happens within seconds.
	ackDeadline = 10 * time.Second
	lease       = "10s"
)

// Set by TestMain.
var (
	workerBin  string
	ortLib     string
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	ortLib = os.Getenv("CHORUS_ORT_LIBRARY")
	if ortLib == "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "faults: CHORUS_ORT_LIBRARY is required in CI (scripts/setup-ort.sh prints it)")
			return 1
		}
		skipReason = "CHORUS_ORT_LIBRARY unset (CI unset, so skipping): run with CHORUS_ORT_LIBRARY=$(scripts/setup-ort.sh)"
	} else {
		dir, err := os.MkdirTemp("", "chorus-faults-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		workerBin = filepath.Join(dir, "synth-job")
		cmd := exec.Command(goTool(), "build", "-o", workerBin, "github.com/chorus-voice/chorus/synth-job")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "faults: build the worker: %v\n", err)
			return 1
		}
	}
	return emulators.RunTests(m, emulators.Options{ProjectID: project, Firestore: true, PubSub: true, GCS: true})
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// world is one test's queue (topic, subscription, dead-letter topic with a
// sweep and a keep subscription) and audio bucket, over the package's
// emulators and the seed voices.
type world struct {
	t                      *testing.T
	stack                  *emulators.Stack
	topic, sub             string
	dlq, dlqSweep, dlqKeep string
	bucket                 string
	fs                     *firestore.Client
	st                     *store.Store
	ps                     *pubsub.Client
	gcs                    *storage.Client
	pub                    *queue.Publisher
}

var (
	seq struct {
		sync.Mutex
		n int
	}
	seedOnce sync.Once
	seedErr  error
)

func newWorld(t *testing.T) *world {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	stack := emulators.Require(t)
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	ctx := context.Background()
	w := &world{t: t, stack: stack,
		topic: fmt.Sprintf("requests-%d", n), sub: fmt.Sprintf("workers-%d", n),
		dlq: fmt.Sprintf("dead-%d", n), dlqSweep: fmt.Sprintf("dead-%d-sweep", n), dlqKeep: fmt.Sprintf("dead-%d-keep", n),
		bucket: fmt.Sprintf("audio-%d", n)}
	var err error
	if w.fs, err = firestore.NewClient(ctx, project); err != nil {
		t.Fatal(err)
	}
	w.st = store.New(w.fs, 7*24*time.Hour)
	if w.ps, err = pubsub.NewClient(ctx, project); err != nil {
		t.Fatal(err)
	}
	if w.gcs, err = storage.NewClient(ctx); err != nil {
		t.Fatal(err)
	}
	w.pub = queue.NewPublisher(w.ps, w.topic, 1000)
	t.Cleanup(func() {
		w.pub.Stop()
		w.ps.Close()
		w.gcs.Close()
		w.fs.Close()
	})
	seedOnce.Do(func() { seedErr = seed(ctx, w) })
	if seedErr != nil {
		t.Fatalf("seed: %v", seedErr)
	}
	// The workers' requeue sweep reads the whole jobs collection: start each
	// test without the jobs earlier tests left behind, or their stale jobs
	// would be re-published into this test's queue and bucket.
	if err := clearJobs(ctx, w.fs); err != nil {
		t.Fatal(err)
	}
	if err := emulators.EnsureTopology(ctx, w.ps, emulators.Topology{ProjectID: project, Topic: w.topic, Subscription: w.sub,
		DeadLetterTopic: w.dlq, DeadLetterSubscriptions: []string{w.dlqSweep, w.dlqKeep},
		MaxDeliveryAttempts: 5, AckDeadline: ackDeadline, MinBackoff: time.Second, MaxBackoff: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := w.gcs.Bucket(w.bucket).Create(ctx, project, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// clearJobs deletes every job document (members and voices stay).
func clearJobs(ctx context.Context, fs *firestore.Client) error {
	refs, err := fs.Collection("jobs").DocumentRefs(ctx).GetAll()
	if err != nil {
		return err
	}
	bw := fs.BulkWriter(ctx)
	for _, ref := range refs {
		if _, err := bw.Delete(ref); err != nil {
			return err
		}
	}
	bw.End()
	return nil
}

// seed imports the demo voices and members of scripts/seed, and a member
// whose voice was never registered.
func seed(ctx context.Context, w *world) error {
	if err := w.gcs.Bucket(modelsBucket).Create(ctx, project, nil); err != nil {
		return err
	}
	f, err := voiceimport.ReadSeed(filepath.Join("..", "..", "scripts", "seed", "seed.json"))
	if err != nil {
		return err
	}
	im := &voiceimport.Importer{Store: w.st, Models: w.gcs.Bucket(modelsBucket), ORTLibrary: ortLib}
	if err := im.Seed(ctx, f); err != nil {
		return err
	}
	return w.st.PutMember(ctx, &store.Member{ID: ghostMember, Name: "Ghost", Group: "G", VoiceID: "never-registered", Active: true})
}

// workerProc is one synth-job --serve process.
type workerProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // the exit status, after done
}

// startWorker runs a worker on the world's queue; env adds NAME=value
// settings. The process is killed at the end of the test if still running.
func (w *world) startWorker(env ...string) *workerProc {
	w.t.Helper()
	dir := w.t.TempDir()
	logPath := filepath.Join(dir, "worker.log")
	lf, err := os.Create(logPath)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := w.workerCmd(dir, lf, env...)
	if err := cmd.Start(); err != nil {
		lf.Close()
		w.t.Fatal(err)
	}
	p := &workerProc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { // ends when the process does; Cleanup guarantees that
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	w.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if w.t.Failed() {
			w.t.Logf("worker %d log (tail):\n%s", cmd.Process.Pid, logTail(logPath))
		}
	})
	return p
}

// logTail returns the end of a worker log.
func logTail(path string) []byte {
	b, _ := os.ReadFile(path)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return b
}

// workerCmd returns an unstarted worker on the world's queue, with dir for
// its voice cache and its output to out; env adds NAME=value settings.
func (w *world) workerCmd(dir string, out *os.File, env ...string) *exec.Cmd {
	cmd := exec.Command(workerBin, "--serve")
	cmd.Env = append(os.Environ(),
		"GOOGLE_CLOUD_PROJECT="+project,
		"CHORUS_SUBSCRIPTION="+w.sub,
		"CHORUS_DEAD_LETTER_SUBSCRIPTION="+w.dlqSweep,
		"CHORUS_DEAD_LETTER_TOPIC="+w.dlq,
		"CHORUS_AUDIO_BUCKET="+w.bucket,
		"CHORUS_MODELS_BUCKET="+modelsBucket,
		"CHORUS_ORT_LIBRARY="+ortLib,
		"CHORUS_EXECUTION_PROVIDER=cpu",
		"CHORUS_INTRA_OP_THREADS=1",
		"CHORUS_VOICE_CACHE_DIR="+filepath.Join(dir, "voices"),
		"CHORUS_LEASE="+lease,
		"CHORUS_BATCH_WAIT=10ms",
		// The safety net for a message that does not come back (the
		// Pub/Sub emulator has been seen to strand a dead worker's
		// messages): stale jobs are re-published after this long.
		"CHORUS_TOPIC="+w.topic,
		"CHORUS_REQUEUE_AFTER=20s",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// pid is the worker's process id, which its lease holder name contains.
func (p *workerProc) pid() int { return p.cmd.Process.Pid }

// holds reports whether the worker name in a job lease is this process.
func (p *workerProc) holds(workerID string) bool {
	return strings.Contains(workerID, fmt.Sprintf("-%d-", p.pid()))
}

// wait waits for the process to exit, or fails the test after timeout.
func (p *workerProc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("worker %d still running after %s", p.pid(), timeout)
		return nil
	}
}

// logLines returns the worker's JSON log lines that contain all of words.
func (p *workerProc) logLines(words ...string) []string {
	b, _ := os.ReadFile(p.log)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok && l != "" {
			out = append(out, l)
		}
	}
	return out
}

// enqueue creates queued jobs for member and publishes their messages the
// way the API does, copies times each (copies > 1 simulates Pub/Sub's
// at-least-once delivery handing one request out more than once).
func (w *world) enqueue(memberID string, copies int, texts ...string) []*job.Job {
	w.t.Helper()
	ctx := context.Background()
	m, err := w.st.GetMember(ctx, memberID)
	if err != nil {
		w.t.Fatal(err)
	}
	jobs := make([]*job.Job, len(texts))
	for i, text := range texts {
		jobs[i] = job.New(m.ID, m.VoiceID, m.SpeakerID, text, 1, time.Now())
	}
	if _, err := w.st.CreateJobs(ctx, jobs); err != nil {
		w.t.Fatal(err)
	}
	var msgs []*message.SynthesisRequest
	for c := 0; c < copies; c++ {
		for _, j := range jobs {
			msgs = append(msgs, message.ForJob(j))
		}
	}
	if _, err := w.pub.Publish(ctx, msgs); err != nil {
		w.t.Fatal(err)
	}
	return jobs
}

// publishRaw sends a message body as is, with attributes.
func (w *world) publishRaw(data []byte, attrs map[string]string) {
	w.t.Helper()
	ctx := context.Background()
	p := w.ps.Publisher(w.topic)
	defer p.Stop()
	if _, err := p.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}).Get(ctx); err != nil {
		w.t.Fatal(err)
	}
}

// jobs reads the jobs by id.
func (w *world) jobs(ids []string) map[string]*job.Job {
	w.t.Helper()
	out := make(map[string]*job.Job, len(ids))
	for _, id := range ids {
		j, err := w.st.GetJob(context.Background(), id)
		if err != nil {
			w.t.Fatal(err)
		}
		out[id] = j
	}
	return out
}

// waitJobs polls until every job satisfies done, or fails after timeout
// (a liveness bound, not a speed assertion).
func (w *world) waitJobs(ids []string, timeout time.Duration, done func(*job.Job) bool) map[string]*job.Job {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		js := w.jobs(ids)
		var pending []string
		for id, j := range js {
			if !done(j) {
				pending = append(pending, fmt.Sprintf("%s=%s", id, j.Status))
			}
		}
		if len(pending) == 0 {
			return js
		}
		if time.Now().After(deadline) {
			sort.Strings(pending)
			w.t.Fatalf("after %s, %d jobs not done: %v", timeout, len(pending), pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func terminal(j *job.Job) bool { return j.Status.Terminal() }

// objects lists the audio bucket.
func (w *world) objects() []string {
	w.t.Helper()
	var out []string
	it := w.gcs.Bucket(w.bucket).Objects(context.Background(), nil)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, a.Name)
	}
	sort.Strings(out)
	return out
}

// assertOneObjectPerJob checks that the bucket holds exactly the jobs'
// deterministic objects (audio and captions), once each, and that each
// recorded output names them.
func (w *world) assertOneObjectPerJob(js map[string]*job.Job) {
	w.t.Helper()
	var want []string
	for _, j := range js {
		want = append(want, j.ObjectName(), j.CaptionsObjectName())
		if j.Output == nil || j.Output.Object != j.ObjectName() || j.Output.CaptionsObject != j.CaptionsObjectName() ||
			j.Output.Bucket != w.bucket || j.Output.Bytes <= 44 {
			w.t.Errorf("job %s output %+v", j.ID, j.Output)
		}
	}
	sort.Strings(want)
	if got := w.objects(); strings.Join(got, ",") != strings.Join(want, ",") {
		w.t.Fatalf("bucket holds %d objects %v, want two per job (%d) %v", len(got), got, len(want), want)
	}
}

// pullAll receives what arrives on sub within wait, acking it.
func (w *world) pullAll(sub string, n int, wait time.Duration) []*pubsub.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var mu sync.Mutex
	var got []*pubsub.Message
	err := w.ps.Subscriber(sub).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if len(got) == n {
			cancel()
		}
	})
	if err != nil && ctx.Err() == nil {
		w.t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// longText is about n characters of varied English, so that synthesis of
// one job takes long enough to be interrupted.
func longText(n, seed int) string {
	words := []string{"Chorus", "sings", "every", "line", "twice", "tonight,", "and", "the", "crowd", "answers",
		"with", "a", "song", "of", "its", "own.", "Stars", "fall", "slowly", "over", "the", "river."}
	var b bytes.Buffer
	for i := seed; b.Len() < n; i++ {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[i%len(words)])
	}
	return b.String()[:n]
}

func texts(n, chars int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = longText(chars, i)
	}
	return out
}

func ids(js []*job.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}
