package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/store"
)

// BenchmarkStatusNotify compares how a client learns that its job ended:
// a long poll (?wait=20, again until the job ended) against polling on a
// schedule (the web app's 300 ms growing by half up to 2 s, and a tight
// 100 ms). Each job ends after a run time drawn in turn from 0.25, 0.5,
// 1 and 2 s (the spread of warm syntheses and short queues); the
// benchmark reports the time from the job's end (its Succeed returning)
// to the client holding the answer, p50 and max, and the status requests
// per job. Against the emulators on one machine: a measure of the
// schedules, not of Firestore's listen latency in the cloud.
//
//	go test -run '^$' -bench StatusNotify -benchtime 16x ./functions/api
func BenchmarkStatusNotify(b *testing.B) {
	runs := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}
	schedules := []struct {
		name  string
		query string
		delay func(i int) time.Duration // before the i-th poll after the first
	}{
		{"long-poll", "&wait=20", func(int) time.Duration { return 0 }},
		{"web-schedule", "", func(i int) time.Duration {
			d := 300 * time.Millisecond
			for range i {
				d = min(2*time.Second, d*3/2)
			}
			return d
		}},
		{"poll-100ms", "", func(int) time.Duration { return 100 * time.Millisecond }},
	}
	for _, sc := range schedules {
		b.Run(sc.name, func(b *testing.B) {
			e := newEnv(b, nil)
			ctx := context.Background()
			var lags []time.Duration
			requests := 0
			b.ResetTimer()
			for n := range b.N {
				j := e.queued(fmt.Sprintf("bench %d", n))
				ended := make(chan time.Time, 1)
				go func() {
					time.Sleep(runs[n%len(runs)]) // the synthesis
					if _, o, err := e.st.Claim(ctx, j.ID, "w1", time.Minute); err != nil || o != store.Claimed {
						b.Error(o, err)
					}
					if err := e.st.Succeed(ctx, j.ID, "w1", job.Output{Bucket: e.cfg.AudioBucket, Object: j.ObjectName(), Bytes: 44,
						DurationSeconds: 1, SampleRate: 22050, WrittenAt: time.Now().UTC()}, "cpu"); err != nil {
						b.Error(err)
					}
					ended <- time.Now()
				}()
				for i := 0; ; i++ {
					if i > 0 {
						time.Sleep(sc.delay(i - 1))
					}
					requests++
					r := e.do(http.MethodGet, "/api/status?id="+j.ID+sc.query, "", nil)
					if r.status != http.StatusOK {
						b.Fatalf("status: %d %s", r.status, r.raw)
					}
					if r.body["status"] == "succeeded" {
						lags = append(lags, time.Since(<-ended))
						break
					}
				}
			}
			b.StopTimer()
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "ms-to-know-p50")
			b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "ms-to-know-max")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/job")
		})
	}
}
