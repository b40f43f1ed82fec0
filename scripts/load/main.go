// Command load submits N synthesis jobs through the HTTP API of a running
// Chorus stack (scripts/load.sh starts one with several workers), follows
// every job to its end and reports what the reliability guarantees are
// about: accepted, succeeded, failed, lost (must be 0), duplicates (must be
// 0), throughput, time-to-audio percentiles and the API's own latency.
//
//	go run ./scripts/load -url http://127.0.0.1:8080 -n 500 -log devstack.log
//
// Duplicates are counted two ways: audio objects in the bucket (listed at
// the end through the storage host the signed URLs point at) that are not
// exactly one per succeeded job, and "job succeeded" records in the
// workers' log (-log) other than exactly one per job. It exits 1 when a
// job is lost, duplicated, or a pre-flight abuse check fails.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
)

type options struct {
	base      string
	n, conc   int
	timeout   time.Duration
	logPath   string
	members   []string
	runID     string
	pollEvery time.Duration
}

func main() {
	var o options
	var members string
	flag.StringVar(&o.base, "url", "http://127.0.0.1:8080", "base URL of the stack")
	flag.IntVar(&o.n, "n", 500, "jobs to submit")
	flag.IntVar(&o.conc, "c", 16, "concurrent clients")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long to wait for every job to end")
	flag.StringVar(&o.logPath, "log", "", "the workers' JSON log, to count success records per job (optional)")
	flag.StringVar(&members, "members", "aria,juno,sol", "members to spread the jobs over")
	flag.DurationVar(&o.pollEvery, "poll", 250*time.Millisecond, "status polling interval")
	flag.Parse()
	o.members = strings.Split(members, ",")
	o.runID = strconv.FormatInt(time.Now().UnixNano(), 36)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// tracked is one submitted job.
type tracked struct {
	id        string
	submitted time.Time
	status    string
	errCode   string
	finished  time.Time // the server's finished_at
	audioURL  string
	// cached: answered from the result cache; the job shares an earlier
	// job's object and no worker synthesised it.
	cached bool
}

// latencies records request durations per endpoint.
type latencies struct {
	mu sync.Mutex
	d  map[string][]time.Duration
}

func (l *latencies) add(name string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d[name] = append(l.d[name], d)
}

func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	pass := true
	fmt.Fprintf(out, "load: %d jobs, %d clients, against %s\n", o.n, o.conc, o.base)
	if failures := preflight(ctx, o.base); len(failures) > 0 {
		pass = false
		for _, f := range failures {
			fmt.Fprintln(out, "  PRE-FLIGHT FAIL:", f)
		}
	} else {
		fmt.Fprintln(out, "  pre-flight abuse checks: ok (431 on oversized headers, 413/415/400 JSON errors without internals)")
	}

	lat := &latencies{d: map[string][]time.Duration{}}
	jobs, retries, rejected := submit(ctx, o, lat)
	began := time.Now()
	if len(jobs) > 0 {
		began = jobs[0].submitted
	}
	lost := follow(ctx, o, jobs, lat)

	var succeeded, failed int
	codes := map[string]int{}
	var tta []time.Duration
	var last time.Time
	for _, j := range jobs {
		switch j.status {
		case "succeeded":
			succeeded++
			tta = append(tta, j.finished.Sub(j.submitted))
			if j.finished.After(last) {
				last = j.finished
			}
		case "failed":
			failed++
			codes[j.errCode]++
		}
	}
	dupObjects, missing, stray, listErr := countObjects(ctx, jobs)
	dupRecords, recErr := countSuccessRecords(o.logPath, jobs)
	wavErr := sampleAudio(ctx, jobs, 5)

	fmt.Fprintf(out, "  accepted    %d of %d (%d retried after 429/503, %d refused)\n", len(jobs), o.n, retries, rejected)
	cached := 0
	for _, j := range jobs {
		if j.cached {
			cached++
		}
	}
	fmt.Fprintf(out, "  succeeded   %d (%d answered from the result cache)\n", succeeded, cached)
	fmt.Fprintf(out, "  failed      %d %v\n", failed, codes)
	fmt.Fprintf(out, "  lost        %d\n", lost)
	switch {
	case listErr != nil:
		fmt.Fprintf(out, "  duplicates  objects: could not list the bucket: %v\n", listErr)
		pass = false
	default:
		fmt.Fprintf(out, "  duplicates  objects: %d (jobs with >1 object) · succeeded without object: %d · stray objects: %d\n", dupObjects, missing, stray)
	}
	switch {
	case o.logPath == "":
		fmt.Fprintln(out, "              success records: not checked (no -log)")
	case recErr != nil:
		fmt.Fprintf(out, "              success records: %v\n", recErr)
		pass = false
	default:
		fmt.Fprintf(out, "              success records: %d jobs with other than one\n", dupRecords)
	}
	if last.After(began) {
		fmt.Fprintf(out, "  throughput  %.1f jobs/s (%d succeeded in %s)\n", float64(succeeded)/last.Sub(began).Seconds(), succeeded, last.Sub(began).Round(time.Millisecond))
	}
	fmt.Fprintf(out, "  time-to-audio  p50 %s  p95 %s  p99 %s  (submit → finished_at)\n", pct(tta, 50), pct(tta, 95), pct(tta, 99))
	for _, name := range []string{"synthesize", "status"} {
		d := lat.d[name]
		fmt.Fprintf(out, "  API %-10s p50 %s  p95 %s  (%d requests)\n", name, pct(d, 50), pct(d, 95), len(d))
	}
	if wavErr != nil {
		fmt.Fprintf(out, "  audio sample: %v\n", wavErr)
		pass = false
	}
	if lost > 0 || dupObjects > 0 || missing > 0 || stray > 0 || dupRecords > 0 || len(jobs) != o.n {
		pass = false
	}
	if pass {
		fmt.Fprintln(out, "load: PASS (nothing lost, nothing duplicated)")
	} else {
		fmt.Fprintln(out, "load: FAIL")
	}
	return pass, nil
}

// text varies the jobs' length (about 40 to 200 characters).
func text(i int) string {
	base := []string{"Thank you for coming tonight.", "This one goes out to everyone in the front row.",
		"We practised this song for a whole year, and tonight it is finally yours.",
		"Stay safe on the way home, and sleep well."}
	var b strings.Builder
	for k := 0; k <= i%4; k++ {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(base[(i+k)%len(base)])
	}
	return b.String()
}

// submit posts the jobs from o.conc clients. A 429 or 503 is retried after
// its Retry-After with the same request_id (idempotent); other refusals
// are counted.
func submit(ctx context.Context, o options, lat *latencies) (jobs []*tracked, retries, rejected int) {
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for c := 0; c < o.conc; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= o.n || ctx.Err() != nil {
					return
				}
				body, _ := json.Marshal(map[string]any{"member_id": o.members[i%len(o.members)], "text": text(i),
					"request_id": fmt.Sprintf("load-%s-%d", o.runID, i)})
				start := time.Now()
				for attempt := 0; ; attempt++ {
					t0 := time.Now()
					res, raw, err := do(ctx, http.MethodPost, o.base+"/api/synthesize", body)
					if err == nil {
						lat.add("synthesize", time.Since(t0))
					}
					if err == nil && res.StatusCode == http.StatusAccepted {
						var a struct {
							JobID string `json:"job_id"`
						}
						_ = json.Unmarshal(raw, &a)
						mu.Lock()
						jobs = append(jobs, &tracked{id: a.JobID, submitted: start})
						mu.Unlock()
						break
					}
					if err == nil && (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) && attempt < 20 {
						mu.Lock()
						retries++
						mu.Unlock()
						wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
						sleep(ctx, time.Duration(max(wait, 1))*time.Second)
						continue
					}
					mu.Lock()
					rejected++
					mu.Unlock()
					if err != nil {
						fmt.Fprintf(os.Stderr, "load: submit %d: %v\n", i, err)
					} else {
						fmt.Fprintf(os.Stderr, "load: submit %d: %d %s\n", i, res.StatusCode, raw)
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].submitted.Before(jobs[b].submitted) })
	return jobs, retries, rejected
}

// follow polls every unfinished job until all ended or the timeout; it
// returns how many never ended (lost).
func follow(ctx context.Context, o options, jobs []*tracked, lat *latencies) int {
	deadline := time.Now().Add(o.timeout)
	for {
		var pending []*tracked
		for _, j := range jobs {
			if j.status != "succeeded" && j.status != "failed" {
				pending = append(pending, j)
			}
		}
		if len(pending) == 0 {
			return 0
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			for _, j := range pending {
				fmt.Fprintf(os.Stderr, "load: lost job %s (last status %q)\n", j.id, j.status)
			}
			return len(pending)
		}
		work := make(chan *tracked)
		var wg sync.WaitGroup
		for c := 0; c < o.conc; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range work {
					t0 := time.Now()
					res, raw, err := do(ctx, http.MethodGet, o.base+"/api/status?id="+url.QueryEscape(j.id), nil)
					if err != nil {
						continue
					}
					lat.add("status", time.Since(t0))
					if res.StatusCode == http.StatusNotFound {
						j.status = "not_found"
						continue
					}
					var s struct {
						Status     string    `json:"status"`
						FinishedAt time.Time `json:"finished_at"`
						AudioURL   string    `json:"audio_url"`
						Cached     bool      `json:"cached"`
						Error      *struct {
							Code string `json:"code"`
						} `json:"error"`
					}
					if res.StatusCode != http.StatusOK || json.Unmarshal(raw, &s) != nil {
						continue
					}
					j.status, j.finished, j.audioURL, j.cached = s.Status, s.FinishedAt, s.AudioURL, s.Cached
					if s.Error != nil {
						j.errCode = s.Error.Code
					}
				}
			}()
		}
		for _, j := range pending {
			work <- j
		}
		close(work)
		wg.Wait()
		sleep(ctx, o.pollEvery)
	}
}

func do(ctx context.Context, method, u string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	return res, raw, err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)].Round(time.Millisecond).String()
}

// countObjects lists the audio bucket (through the storage host and bucket
// that the signed URLs name) and compares it with the succeeded jobs.
func countObjects(ctx context.Context, jobs []*tracked) (dup, missing, stray int, err error) {
	var sample *url.URL
	for _, j := range jobs {
		if j.audioURL != "" {
			if sample, err = url.Parse(j.audioURL); err != nil {
				return 0, 0, 0, err
			}
			break
		}
	}
	if sample == nil {
		return 0, 0, 0, errors.New("no succeeded job to learn the bucket from")
	}
	parts := strings.SplitN(strings.TrimPrefix(sample.Path, "/"), "/", 2)
	bucket := parts[0]
	perStem := map[string]int{} // audio objects by name without extension
	token := ""
	for {
		u := fmt.Sprintf("%s://%s/storage/v1/b/%s/o?prefix=audio/&maxResults=1000&pageToken=%s", sample.Scheme, sample.Host, url.PathEscape(bucket), url.QueryEscape(token))
		res, raw, err := do(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, 0, 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, 0, 0, fmt.Errorf("list %s: %d %s", bucket, res.StatusCode, raw)
		}
		var page struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, 0, err
		}
		for _, it := range page.Items {
			if path.Ext(it.Name) == ".vtt" {
				continue // captions, beside each job's audio
			}
			perStem[stem(it.Name)]++
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	for _, j := range jobs {
		// A job's objects are named by a digest of its id (job.ObjectName).
		n := perStem[stem((&job.Job{ID: j.id}).CaptionsObjectName())]
		switch {
		case j.cached:
			// A cached job has no object of its own: its URL names the
			// earlier job's, which must exist.
			if n != 0 {
				stray++
			} else if perStem[stem(objectName(bucket, j.audioURL))] != 1 {
				missing++
			}
		case n > 1:
			dup++
		case n == 0 && j.status == "succeeded":
			missing++
		case n == 1 && j.status != "succeeded":
			stray++
		}
	}
	// Objects of jobs this run did not submit belong to earlier runs on a
	// reused stack; they are not counted.
	return dup, missing, stray, nil
}

// objectName is the object a signed URL into bucket names (/BUCKET/NAME).
func objectName(bucket, signedURL string) string {
	u, err := url.Parse(signedURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/"+bucket+"/")
}

// stem is an object name without its extension.
func stem(name string) string { return strings.TrimSuffix(name, path.Ext(name)) }

// countSuccessRecords counts the workers' "job succeeded" log records per
// job and returns how many jobs have other than exactly one.
func countSuccessRecords(path string, jobs []*tracked) (int, error) {
	if path == "" {
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	per := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"job succeeded"`)) {
			continue
		}
		var rec struct {
			Message string `json:"message"`
			JobID   string `json:"job_id"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Message == "job succeeded" {
			per[rec.JobID]++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	bad := 0
	for _, j := range jobs {
		want := 1
		if j.cached {
			want = 0 // answered at enqueue: no worker ran it
		}
		if j.status == "succeeded" && per[j.id] != want {
			bad++
			fmt.Fprintf(os.Stderr, "load: job %s has %d success records\n", j.id, per[j.id])
		}
	}
	return bad, nil
}

// sampleAudio fetches a few signed URLs and checks they serve WAV audio.
func sampleAudio(ctx context.Context, jobs []*tracked, n int) error {
	for _, j := range jobs {
		if n == 0 {
			return nil
		}
		if j.audioURL == "" {
			continue
		}
		n--
		res, raw, err := do(ctx, http.MethodGet, j.audioURL, nil)
		if err != nil {
			return fmt.Errorf("fetch audio of %s: %w", j.id, err)
		}
		if res.StatusCode != http.StatusOK || len(raw) < 44 || string(raw[:4]) != "RIFF" || string(raw[8:12]) != "WAVE" {
			return fmt.Errorf("audio of %s: %d, %d bytes, not a WAV file", j.id, res.StatusCode, len(raw))
		}
	}
	return nil
}

// preflight checks the abuse limits of the running server: header size,
// body size, content type, and that error bodies are the JSON format with
// nothing internal in them.
func preflight(ctx context.Context, base string) []string {
	var fails []string
	u, err := url.Parse(base)
	if err != nil {
		return []string{err.Error()}
	}
	// Oversized headers: the server must refuse them before any handler.
	if code, err := rawRequest(u.Host, "GET /api/profiles HTTP/1.1\r\nHost: "+u.Host+"\r\nX-Pad: "+strings.Repeat("a", 2<<20)+"\r\n\r\n"); err != nil {
		fails = append(fails, "oversized header: "+err.Error())
	} else if code != http.StatusRequestHeaderFieldsTooLarge {
		fails = append(fails, fmt.Sprintf("oversized header (2 MiB): got %d, want 431", code))
	}
	leaks := []string{"json:", "rpc error", "goroutine", ".go:", "panic", "firestore", "pubsub", "invalid character"}
	for _, c := range []struct {
		name, ct string
		body     []byte
		want     int
	}{
		{"body over 64 KiB", "application/json", []byte(`{"member_id":"aria","text":"` + strings.Repeat("a", 70<<10) + `"}`), http.StatusRequestEntityTooLarge},
		{"wrong content type", "text/plain", []byte(`{"member_id":"aria","text":"hi"}`), http.StatusUnsupportedMediaType},
		{"malformed JSON", "application/json", []byte(`{"member_id":`), http.StatusBadRequest},
		{"text over the limit", "application/json", []byte(`{"member_id":"aria","text":"` + strings.Repeat("가", 10001) + `"}`), http.StatusBadRequest},
		{"unknown member", "application/json", []byte(`{"member_id":"nobody-here","text":"hi"}`), http.StatusNotFound},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/synthesize", bytes.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		res, err := client.Do(req)
		if err != nil {
			fails = append(fails, c.name+": "+err.Error())
			continue
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		switch {
		case res.StatusCode != c.want:
			fails = append(fails, fmt.Sprintf("%s: got %d, want %d", c.name, res.StatusCode, c.want))
		case json.Unmarshal(raw, &env) != nil || env.Error.Code == "":
			fails = append(fails, fmt.Sprintf("%s: body is not a JSON error: %q", c.name, raw))
		}
		for _, l := range leaks {
			if strings.Contains(strings.ToLower(string(raw)), l) {
				fails = append(fails, fmt.Sprintf("%s: body leaks %q", c.name, l))
			}
		}
	}
	return fails
}

// rawRequest writes a request byte for byte and returns the status code.
func rawRequest(host, req string) (int, error) {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, req) }() // the server may answer before reading it all
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
