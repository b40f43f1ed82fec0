package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/store"
)

type task struct {
	job *job.Job
	res chan result
	// alone runs the job in a batch of its own (a redelivery).
	alone bool
}

type result struct {
	out     job.Output
	err     error
	elapsed time.Duration
}

// batchDeps are what a batch needs from the worker, and nothing more.
type batchDeps struct {
	voice  func(ctx context.Context, id string) (*store.Voice, error)
	member func(ctx context.Context, id string) (*store.Member, error)
	synth  Synth
	finish func(ctx context.Context, j *job.Job, a Audio) (job.Output, error) // upload and record
	renew  func(ctx context.Context, jobID string) error                      // extend a job's lease
	lease  time.Duration
	log    *slog.Logger
}

// batcher groups claimed jobs by voice, up to size jobs or wait time,
// and runs the groups on conc goroutines: one engine call serves many
// jobs, which is where a GPU earns its keep.
type batcher struct {
	d    batchDeps
	size int
	wait time.Duration
	conc int

	in   chan *task
	runs chan []*task
	wg   sync.WaitGroup
}

func newBatcher(d batchDeps, size int, wait time.Duration, conc int) *batcher {
	return &batcher{d: d, size: size, wait: wait, conc: conc, in: make(chan *task), runs: make(chan []*task)}
}

// start launches the dispatcher and the pool; the batcher owns them, and
// stop (after the last submit) or ctx ends them.
func (b *batcher) start(ctx context.Context) {
	b.wg.Go(func() { b.dispatch(ctx) })
	for range b.conc {
		b.wg.Go(func() {
			for tasks := range b.runs {
				b.run(ctx, tasks)
			}
		})
	}
}

// stop waits for queued batches to finish. No submit may follow it.
func (b *batcher) stop() {
	close(b.in)
	b.wg.Wait()
}

// submit queues a claimed job and waits for its result. alone runs it in
// a batch of its own, at once: a redelivered message, so that an input that
// crashes the process is pinned on its own job.
func (b *batcher) submit(ctx context.Context, j *job.Job, alone bool) result {
	t := &task{job: j, res: make(chan result, 1), alone: alone}
	select {
	case b.in <- t:
	case <-ctx.Done():
		return result{err: fmt.Errorf("not started: %w", ctx.Err())}
	}
	return <-t.res // every queued task gets exactly one result
}

func (b *batcher) dispatch(ctx context.Context) {
	defer close(b.runs)
	pending := map[string][]*task{}
	due := map[string]time.Time{}
	send := func(tasks []*task) {
		select {
		case b.runs <- tasks:
		case <-ctx.Done():
			for _, t := range tasks {
				t.res <- result{err: fmt.Errorf("not started: %w", ctx.Err())}
			}
		}
	}
	flush := func(voice string) {
		tasks := pending[voice]
		delete(pending, voice)
		delete(due, voice)
		send(tasks)
	}
	for {
		var timer <-chan time.Time
		if len(due) > 0 {
			next := time.Time{}
			for _, d := range due {
				if next.IsZero() || d.Before(next) {
					next = d
				}
			}
			timer = time.After(time.Until(next))
		}
		select {
		case t, ok := <-b.in:
			if !ok {
				for v := range pending {
					flush(v)
				}
				return
			}
			if t.alone {
				send([]*task{t})
				continue
			}
			v := t.job.VoiceID
			if len(pending[v]) == 0 {
				due[v] = time.Now().Add(b.wait)
			}
			pending[v] = append(pending[v], t)
			if len(pending[v]) >= b.size {
				flush(v)
			}
		case <-timer:
			now := time.Now()
			for v, d := range due {
				if !d.After(now) {
					flush(v)
				}
			}
		}
	}
}

// run synthesises one voice's batch, uploads each job's audio and captions
// and records each job.
func (b *batcher) run(ctx context.Context, tasks []*task) {
	start := time.Now()
	results := make([]result, len(tasks))
	defer func() {
		for i, t := range tasks {
			results[i].elapsed = time.Since(start)
			t.res <- results[i]
		}
	}()
	setAll := func(err error) {
		for i := range results {
			if results[i].err == nil {
				results[i].err = err
			}
		}
	}
	// A panic while the batch runs (a bug, or an input that trips one)
	// ends this batch, not the process; deferred after the results' send,
	// so it runs first.
	defer b.recoverBatch(tasks, results)
	if err := ctx.Err(); err != nil {
		setAll(fmt.Errorf("not started: %w", err))
		return
	}
	stopRenew := b.renewLeases(ctx, tasks)
	defer stopRenew()

	voiceID := tasks[0].job.VoiceID
	v, err := b.d.voice(ctx, voiceID)
	if errors.Is(err, store.ErrNotFound) {
		setAll(Permanent("voice_not_found", "This member's voice is not available.", err))
		return
	}
	if err != nil {
		setAll(fmt.Errorf("read voice %s: %w", voiceID, err))
		return
	}
	// Items the voice cannot serve fail alone; the rest go to the engine,
	// each with its member's lexicon as it is now.
	var items []Item
	var idx []int
	lexicons := map[string]map[string]string{}
	for i, t := range tasks {
		if t.job.SpeakerID >= v.NumSpeakers {
			results[i].err = Permanent("speaker_not_found", "This member's voice is not available.",
				fmt.Errorf("speaker %d of voice %s with %d speakers", t.job.SpeakerID, v.ID, v.NumSpeakers))
			continue
		}
		lex, ok := lexicons[t.job.MemberID]
		if !ok {
			m, err := b.d.member(ctx, t.job.MemberID)
			switch {
			case err == nil:
				lex = m.Lexicon
			case !errors.Is(err, store.ErrNotFound): // a removed member's job is still spoken
				results[i].err = fmt.Errorf("read member %s: %w", t.job.MemberID, err)
				continue
			}
			lexicons[t.job.MemberID] = lex
		}
		items = append(items, Item{JobID: t.job.ID, Text: t.job.Text, SpeakerID: t.job.SpeakerID, Speed: t.job.Speed,
			Format: t.job.AudioFormat(), Lexicon: lex})
		idx = append(idx, i)
	}
	if len(items) == 0 {
		return
	}
	audio, err := b.d.synth.Synthesize(ctx, v, items)
	if err != nil {
		setAll(err)
		return
	}
	if len(audio) != len(items) {
		setAll(fmt.Errorf("synth returned %d results for %d items", len(audio), len(items)))
		return
	}
	// Upload and record each job concurrently: object writes, not the
	// model, dominate a batch's wall time on fast hardware.
	var wg sync.WaitGroup
	for k, i := range idx {
		if audio[k].Err != nil {
			results[i].err = audio[k].Err
			continue
		}
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					results[i].out, results[i].err = job.Output{}, b.crashed(p, tasks[i:i+1])
				}
			}()
			results[i].out, results[i].err = b.d.finish(ctx, tasks[i].job, audio[k])
		})
	}
	wg.Wait()
}

// renewLeases keeps the batch's leases alive while it runs longer than a
// third of the lease. The returned func stops it.
func (b *batcher) renewLeases(ctx context.Context, tasks []*task) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(b.d.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, task := range tasks {
					if err := b.d.renew(ctx, task.job.ID); err != nil && ctx.Err() == nil {
						b.d.log.Warn("lease renewal failed", "job_id", task.job.ID, "error", err)
					}
				}
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// recoverBatch turns a panic of the batch into its jobs' results (see
// crashed); every job already given a result of its own keeps it.
func (b *batcher) recoverBatch(tasks []*task, results []result) {
	p := recover()
	if p == nil {
		return
	}
	var open []*task
	var idx []int
	for i := range tasks {
		if results[i].err == nil {
			open, idx = append(open, tasks[i]), append(idx, i)
		}
	}
	err := b.crashed(p, open)
	for _, i := range idx {
		results[i].out, results[i].err = job.Output{}, err
	}
}

// errCrashedInBatch: the batch panicked with several jobs in it; each is
// handed back and runs alone on its next delivery, so that the panic is
// pinned on the job that causes it.
var errCrashedInBatch = errors.New("the batch crashed; each of its jobs will run alone")

// crashed logs a panic (its stack, and its value only when it is a runtime
// error: another value may quote the input) and says what becomes of the
// jobs it hit: a job alone fails permanently (synthesis_crashed); jobs
// together are retried one by one.
func (b *batcher) crashed(p any, tasks []*task) error {
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.job.ID
	}
	value := fmt.Sprintf("%T", p)
	if re, ok := p.(runtime.Error); ok {
		value = re.Error()
	}
	b.d.log.Error("panic in a batch: its jobs end, the worker goes on", "job_ids", ids, "panic", value, "stack", string(debug.Stack()))
	if len(tasks) == 1 {
		return Permanent("synthesis_crashed", "The synthesis failed on this request.", fmt.Errorf("panic: %s", value))
	}
	return fmt.Errorf("%w: panic: %s", errCrashedInBatch, value)
}
