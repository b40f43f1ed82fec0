package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/chorus-voice/chorus/functions/internal/apierr"
	"github.com/chorus-voice/chorus/shared/callback"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/shared/utterance"
)

// VoiceSummary is what fans see of a member's voice.
type VoiceSummary struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Language string `json:"language"`
	Demo     bool   `json:"demo"`
}

// Profile is a member as the API shows it.
type Profile struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Group      string        `json:"group"`
	Bio        string        `json:"bio"`
	ImageURL   string        `json:"image_url"`
	VoiceID    string        `json:"voice_id"`
	SampleText string        `json:"sample_text"`
	Order      int           `json:"order"`
	Voice      *VoiceSummary `json:"voice,omitempty"`
}

func profile(m *store.Member, v *store.Voice) Profile {
	p := Profile{ID: m.ID, Name: m.Name, Group: m.Group, Bio: m.Bio, ImageURL: m.ImageURL,
		VoiceID: m.VoiceID, SampleText: m.SampleText, Order: m.Order}
	if v != nil {
		p.Voice = &VoiceSummary{ID: v.ID, Label: v.Label, Language: v.Language, Demo: v.Demo}
	}
	return p
}

func (s *Server) profiles(w http.ResponseWriter, r *http.Request) error {
	// One member is /{id} (/api/profiles/{id} locally) or ?id={id}.
	id := cmp.Or(r.PathValue("id"), r.URL.Query().Get("id"))
	ctx := r.Context()
	if id != "" {
		notFound := apierr.New(http.StatusNotFound, "member_not_found", "That member does not exist.")
		if !message.ValidRecordID(id) {
			return notFound
		}
		m, err := s.store.GetMember(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !m.Active) {
			return notFound
		}
		if err != nil {
			return err
		}
		v, err := s.store.GetVoice(ctx, m.VoiceID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		apierr.WriteJSON(w, http.StatusOK, profile(m, v))
		return nil
	}
	members, err := s.store.ListMembers(ctx)
	if err != nil {
		return err
	}
	voices, err := s.store.ListVoices(ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]*store.Voice, len(voices))
	for _, v := range voices {
		byID[v.ID] = v
	}
	out := make([]Profile, 0, len(members))
	for _, m := range members {
		out = append(out, profile(m, byID[m.VoiceID]))
	}
	w.Header().Set("Cache-Control", "public, max-age=30")
	apierr.WriteJSON(w, http.StatusOK, ProfileList{Members: out, Limits: s.limits()})
	return nil
}

// ProfileList is the answer of GET profiles: the members, and what this
// deployment accepts, so that clients learn the limits from the one place
// that sets them (shared/config, from Terraform) instead of copying them.
type ProfileList struct {
	Members []Profile `json:"members"`
	Limits  Limits    `json:"limits"`
}

// Limits are the request limits of this deployment.
type Limits struct {
	// MaxTextChars bounds the text of one item, in characters (code points).
	MaxTextChars int `json:"max_text_chars"`
	// MaxBatchItems bounds the items of one batch.
	MaxBatchItems int `json:"max_batch_items"`
	// MaxBodyBytes bounds the body of one batch request (MaxBodyBytes).
	MaxBodyBytes int64 `json:"max_body_bytes"`
}

func (s *Server) limits() Limits {
	return Limits{MaxTextChars: s.cfg.MaxTextChars, MaxBatchItems: s.cfg.MaxBatchItems,
		MaxBodyBytes: MaxBodyBytes(s.cfg.MaxBatchItems, s.cfg.MaxTextChars)}
}

// Enqueued is one accepted job in a 202 answer. A job answered from the
// result cache is already succeeded and says so (cached).
type Enqueued struct {
	JobID     string     `json:"job_id"`
	Status    job.Status `json:"status"`
	StatusURL string     `json:"status_url"`
	Cached    bool       `json:"cached,omitempty"`
}

func (s *Server) synthesize(w http.ResponseWriter, r *http.Request) error {
	if err := s.limit(r, 1); err != nil {
		return err
	}
	var it SynthesisItem
	if err := decodeJSON(w, r, MaxBodyBytes(1, s.cfg.MaxTextChars), &it); err != nil {
		return err
	}
	if err := validateItem(&it, s.cfg.MaxTextChars, ""); err != nil {
		return err
	}
	if err := s.checkCallback(it.CallbackURL, "callback_url"); err != nil {
		return err
	}
	_, jobs, err := s.enqueue(r, []SynthesisItem{it}, "", "")
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusAccepted, jobs[0])
	return nil
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) error {
	// A client out of allowance is refused before its body is read; the
	// batch is charged one token per item once it is read: it costs what
	// its jobs would cost one by one.
	if err := s.limit(r, 0); err != nil {
		return err
	}
	var br BatchRequest
	if err := decodeJSON(w, r, MaxBodyBytes(s.cfg.MaxBatchItems, s.cfg.MaxTextChars), &br); err != nil {
		return err
	}
	switch {
	case len(br.Items) == 0:
		return apierr.Field("no_items", "items", "Add at least one line to synthesise.")
	case len(br.Items) > s.cfg.MaxBatchItems:
		return apierr.Field("too_many_items", "items", "A batch holds at most "+strconv.Itoa(s.cfg.MaxBatchItems)+" items.")
	}
	for i := range br.Items {
		if err := validateItem(&br.Items[i], s.cfg.MaxTextChars, "items["+strconv.Itoa(i)+"]."); err != nil {
			return err
		}
		if br.Items[i].CallbackURL != "" {
			return apierr.Field("invalid_callback_url", "items["+strconv.Itoa(i)+"].callback_url",
				"A batch has one callback_url, for all its items: give it beside items.")
		}
		br.Items[i].CallbackURL = br.CallbackURL
	}
	if err := s.checkCallback(br.CallbackURL, "callback_url"); err != nil {
		return err
	}
	if err := s.limit(r, len(br.Items)); err != nil {
		return err
	}
	batchID, jobs, err := s.enqueue(r, br.Items, job.NewID(), "items")
	if err != nil {
		return err
	}
	apierr.WriteJSON(w, http.StatusAccepted, map[string]any{"batch_id": batchID, "jobs": jobs})
	return nil
}

// enqueue resolves members, writes the jobs (idempotently on request_id:
// a batch as a whole, see store.CreateBatch), then publishes them. It
// returns the batch's id (a replayed batch's is the first submission's).
// When publishing fails the new jobs are marked failed and their
// idempotency keys forgotten, so nothing is orphaned and the client can
// simply retry.
func (s *Server) enqueue(r *http.Request, items []SynthesisItem, batchID, field string) (string, []Enqueued, error) {
	ctx := r.Context()
	members := map[string]*store.Member{}
	voices := map[string]*store.Voice{}
	now := s.now()
	jobs := make([]*job.Job, len(items))
	for i, it := range items {
		m, ok := members[it.MemberID]
		if !ok {
			var err error
			m, err = s.store.GetMember(ctx, it.MemberID)
			if errors.Is(err, store.ErrNotFound) {
				return "", nil, &apierr.Error{Status: http.StatusNotFound, Code: "member_not_found", Message: "That member does not exist.", Field: itemField(field, i, "member_id")}
			}
			if err != nil {
				return "", nil, err
			}
			members[it.MemberID] = m
		}
		if !m.Active {
			return "", nil, &apierr.Error{Status: http.StatusNotFound, Code: "member_inactive", Message: m.Name + " is not taking requests right now.", Field: itemField(field, i, "member_id")}
		}
		v, err := s.voiceOf(ctx, m.VoiceID, voices)
		if err != nil {
			return "", nil, err
		}
		// What the engine will speak: the speakable rule and the cache key
		// are both read from it.
		u := utterance.Prepare(it.Text, voiceLanguage(v), m.Lexicon)
		if err := checkSpeakable(u); err != nil {
			err.Field = itemField(field, i, "text")
			return "", nil, err
		}
		j := job.New(m.ID, m.VoiceID, m.SpeakerID, it.Text, it.speed(), now)
		j.RequestID, j.BatchID, j.CallbackURL, j.Format = it.RequestID, batchID, it.CallbackURL, it.format()
		if err := s.answerFromCache(ctx, j, m, v, u, it.cacheAllowed(), now); err != nil {
			return "", nil, err
		}
		jobs[i] = j
	}
	var (
		created []store.Created
		batch   *store.Batch
		err     error
	)
	if batchID != "" {
		if batch, err = s.store.CreateBatch(ctx, batchID, jobs); err == nil {
			created, batchID = batch.Jobs, batch.ID
		}
	} else {
		created, err = s.store.CreateJobs(ctx, jobs)
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return "", nil, &apierr.Error{Status: http.StatusConflict, Code: "request_id_conflict",
			Message: "This request_id was already used for a different request.", Field: itemField(field, ce.Index, "request_id")}
	}
	if err != nil {
		return "", nil, err
	}
	// Publish new jobs only. A replayed request answers with its job and
	// publishes nothing: its first message is on its way, and if that
	// publish was lost the worker's requeue sweep re-publishes the job
	// (a second message here would spend the job's delivery attempts).
	var msgs []*message.SynthesisRequest
	var fresh []*job.Job
	for _, c := range created {
		if c.Existing || c.Job.Status != job.Queued { // replayed, or answered from the cache
			continue
		}
		msgs = append(msgs, message.ForJob(c.Job))
		fresh = append(fresh, c.Job)
	}
	if len(msgs) > 0 {
		if _, err := s.pub.Publish(ctx, msgs); err != nil {
			slog.ErrorContext(ctx, "publish failed; abandoning jobs", "jobs", len(fresh), "error", err)
			// The request's deadline may be what ended the publish: abandon
			// on a fresh one, or the jobs would stay queued with no message.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
			defer cancel()
			jobErr := job.Error{Code: "enqueue_failed", Message: "The request could not be queued."}
			var aerr error
			if batch != nil {
				aerr = s.store.AbandonBatch(actx, batch, fresh, jobErr)
			} else {
				aerr = s.store.AbandonJobs(actx, fresh, jobErr)
			}
			if aerr != nil {
				slog.ErrorContext(ctx, "abandon jobs failed", "error", aerr)
			}
			e := *apierr.ErrUnavailable
			e.Message = "Your request could not be queued. Please try again."
			e.RetryAfter = 2 * time.Second
			return "", nil, &e
		}
		if s.starter != nil {
			s.starter.Ensure(ctx)
		}
	}
	// Jobs the cache answered have finished: announce them (the worker's
	// sweep retries what fails here).
	for _, c := range created {
		if !c.Existing && c.Job.Cached {
			s.announce.Job(ctx, c.Job.ID)
		}
	}
	out := make([]Enqueued, len(created))
	for i, c := range created {
		out[i] = Enqueued{JobID: c.Job.ID, Status: c.Job.Status, StatusURL: s.statusURL(c.Job.ID), Cached: c.Job.Cached}
	}
	return batchID, out, nil
}

// voiceOf reads a member's voice once per call; nil when it does not
// exist (the job then fails at the worker with voice_not_found, as before).
func (s *Server) voiceOf(ctx context.Context, id string, seen map[string]*store.Voice) (*store.Voice, error) {
	if v, ok := seen[id]; ok {
		return v, nil
	}
	v, err := s.store.GetVoice(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		v = nil
	case err != nil:
		return nil, fmt.Errorf("read voice %s: %w", id, err)
	}
	seen[id] = v
	return v, nil
}

// voiceLanguage is the language the voice's text is normalised for (""
// when the voice is unknown: the job then fails at the worker).
func voiceLanguage(v *store.Voice) string {
	if v == nil {
		return ""
	}
	return v.Language
}

// checkSpeakable applies the engine's rule for what can be spoken
// (utterance.Speakable, in the voice's language, with the member's
// lexicon) so that text with nothing to say is a 400, not a job that can
// only fail.
func checkSpeakable(u utterance.Utterance) *apierr.Error {
	if u.Speakable() {
		return nil
	}
	return &apierr.Error{Status: http.StatusBadRequest, Code: "text_unspeakable",
		Message: "The text has nothing to say: add letters or digits (punctuation, emoji and invisible characters alone cannot be spoken)."}
}

// answerFromCache names the result the job's audio will be (its cache
// key: what the engine will speak, u) and, when an earlier job produced it and its audio still lives,
// turns the job into a succeeded one that shares that audio: no message,
// no inference. The cache is off for requests that opted out ("cache":
// false: neither answered from it nor recorded in it), for members who
// opted out, and for voices without a checksum.
func (s *Server) answerFromCache(ctx context.Context, j *job.Job, m *store.Member, v *store.Voice, u utterance.Utterance, allowed bool, now time.Time) error {
	if !allowed || m.CacheDisabled || v == nil || v.Checksum == "" {
		return nil
	}
	j.CacheKey = job.ResultKey(v.Checksum, j.SpeakerID, u.Key(), j.Speed, j.AudioFormat())
	out, ok, err := s.store.LookupResult(ctx, j.CacheKey)
	if err != nil || !ok {
		return err
	}
	if out.Bucket != s.cfg.AudioBucket {
		// Audio written to another bucket (the deployment's bucket has
		// changed since) is not where status signs: synthesise again.
		return nil
	}
	j.Status, j.FinishedAt, j.UpdatedAt, j.Output, j.Cached = job.Succeeded, now, now, out, true
	return nil
}

// checkCallback applies the callback URL rule (shared/callback.CheckURL).
func (s *Server) checkCallback(raw, field string) error {
	if raw == "" {
		return nil
	}
	if err := callback.CheckURL(raw, s.cfg.CallbackAllowLoopback); err != nil {
		return apierr.Field("invalid_callback_url", field, err.Error()+".")
	}
	return nil
}

func itemField(field string, i int, name string) string {
	if field == "" {
		return name
	}
	return field + "[" + strconv.Itoa(i) + "]." + name
}

// JobStatus is a job as the status endpoint shows it. It never names the
// job's batch: a job id is the capability to read that job and nothing
// else, and a batch is read with its own id (which its creator got).
type JobStatus struct {
	JobID           string     `json:"job_id"`
	Status          job.Status `json:"status"`
	MemberID        string     `json:"member_id"`
	Text            string     `json:"text"`
	Speed           float64    `json:"speed"`
	Format          string     `json:"format"`
	Attempts        int        `json:"attempts"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	AudioURL        string     `json:"audio_url,omitempty"`
	CaptionsURL     string     `json:"captions_url,omitempty"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds,omitempty"`
	SampleRate      int        `json:"sample_rate,omitempty"`
	Cached          bool       `json:"cached,omitempty"`
	Error           *job.Error `json:"error,omitempty"`
}

// A succeeded job whose audio is past the retention: 410 on its own, an
// error entry without audio_url in a batch.
const (
	codeAudioExpired    = "audio_expired"
	audioExpiredMessage = "This audio was deleted at the end of its retention period; ask for it again."
)

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) jobStatus(ctx context.Context, j *job.Job) (JobStatus, error) {
	st := JobStatus{JobID: j.ID, Status: j.Status, MemberID: j.MemberID, Text: j.Text, Speed: j.Speed, Format: j.AudioFormat(),
		Attempts: j.Attempts, CreatedAt: j.CreatedAt, Cached: j.Cached,
		StartedAt: optTime(j.StartedAt), FinishedAt: optTime(j.FinishedAt)}
	switch j.Status {
	case job.Succeeded:
		if j.Output == nil {
			return st, errors.New("succeeded job without output")
		}
		now := s.now()
		gone := j.AudioExpiresAt(s.cfg.AudioRetention)
		if !now.Before(gone.Add(-time.Second)) {
			// The bucket deleted the audio (or is about to): never sign a
			// URL to an object that is not there.
			st.Error = &job.Error{Code: codeAudioExpired, Message: audioExpiredMessage}
			return st, nil
		}
		p, err := s.signedURLs(ctx, j, now, gone)
		if err != nil {
			return st, err
		}
		st.AudioURL, st.CaptionsURL, st.ExpiresAt = p.audio, p.captions, &p.expires
		st.DurationSeconds, st.SampleRate = j.Output.DurationSeconds, j.Output.SampleRate
	case job.Failed:
		st.Error = j.Error
		if st.Error == nil {
			st.Error = &job.Error{Code: "failed", Message: "The synthesis failed."}
		}
	}
	return st, nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	// Every poll costs one token, whatever it asks (a job, a batch, a
	// long poll): each may sign URLs, and signatures are not free.
	if err := s.take(s.polls, r, 1); err != nil {
		return err
	}
	q := r.URL.Query()
	ctx := r.Context()
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	notFound := apierr.New(http.StatusNotFound, "job_not_found", "No such job.")
	if id := q.Get("id"); id != "" {
		if !job.ValidGeneratedID(id) {
			return notFound
		}
		j, err := s.store.GetJob(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if wait > 0 && !j.Status.Terminal() {
			if j, err = s.waitForEnd(ctx, j, wait); err != nil {
				return err
			}
		}
		st, err := s.jobStatus(ctx, j)
		if err != nil {
			return err
		}
		if st.Error != nil && st.Error.Code == codeAudioExpired {
			return apierr.New(http.StatusGone, codeAudioExpired, audioExpiredMessage)
		}
		apierr.WriteJSON(w, http.StatusOK, st)
		return nil
	}
	if b := q.Get("batch"); b != "" {
		if wait > 0 {
			return apierr.Field("invalid_wait", "wait", "wait applies to one job (?id=), not to a batch.")
		}
		if !job.ValidGeneratedID(b) {
			return apierr.New(http.StatusNotFound, "batch_not_found", "No such batch.")
		}
		jobs, err := s.store.BatchJobs(ctx, b, s.cfg.MaxBatchItems)
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			return apierr.New(http.StatusNotFound, "batch_not_found", "No such batch.")
		}
		// Each succeeded job signs its pair (or finds it signed): a few
		// at a time, so that a large batch is not one signature after
		// another.
		out := make([]JobStatus, len(jobs))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i, j := range jobs {
			g.Go(func() error {
				st, err := s.jobStatus(gctx, j)
				out[i] = st
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		apierr.WriteJSON(w, http.StatusOK, map[string]any{"batch_id": b, "jobs": out})
		return nil
	}
	return apierr.Field("id_required", "id", "Give a job id (?id=) or a batch id (?batch=).")
}

// MaxStatusWait is the longest long poll: status?id=…&wait= takes whole
// seconds from 0 (the default: answer at once) to this.
const MaxStatusWait = 20 * time.Second

// waitParam reads ?wait=, the seconds a status request may wait for its
// job to end.
func waitParam(r *http.Request) (time.Duration, error) {
	raw, ok := r.URL.Query()["wait"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(raw[0])
	if len(raw) != 1 || err != nil || n < 0 || time.Duration(n)*time.Second > MaxStatusWait {
		return 0, apierr.Field("invalid_wait", "wait", fmt.Sprintf("wait must be a whole number of seconds from 0 to %d.", int(MaxStatusWait/time.Second)))
	}
	return time.Duration(n) * time.Second, nil
}

// waitForEnd watches j until it ends or wait passes, and returns the
// latest state: the answer comes the moment the job ends.
func (s *Server) waitForEnd(ctx context.Context, j *job.Job, wait time.Duration) (*job.Job, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	latest, err := s.store.WaitJob(wctx, j.ID, func(j *job.Job) bool { return j.Status.Terminal() })
	switch {
	case err == nil:
		return latest, nil
	case ctx.Err() != nil:
		return nil, ctx.Err() // the request itself ended
	case wctx.Err() != nil:
		// The wait is over: the state as it is now.
		if latest != nil {
			return latest, nil
		}
		return j, nil
	}
	return nil, err
}

// limit takes n jobs' worth of the client's allowance (n 0: only checks
// that some is left).
func (s *Server) limit(r *http.Request, n int) error {
	return s.take(s.limiter, r, n)
}

// take takes n tokens of l for the client of r.
func (s *Server) take(l *Limiter, r *http.Request, n int) error {
	if ok, wait := l.Take(clientKey(r, s.cfg.TrustedProxyHops), n); !ok {
		return &apierr.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "Too many requests. Please wait a moment and try again.", RetryAfter: retryAfter(wait)}
	}
	return nil
}
