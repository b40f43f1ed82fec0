package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chorus-voice/chorus/functions/api"
	"github.com/chorus-voice/chorus/shared/logging"
)

// lockedBuffer is a log sink the server's goroutines may write at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Hardening: fan text never reaches the functions' logs: accepted,
// refused, conflicting and failing requests and status answers log codes,
// lengths and ids, never the words.
func TestNoFanTextInLogs(t *testing.T) {
	e := newEnv(t, nil)
	logs := &lockedBuffer{}
	prev := slog.Default()
	slog.SetDefault(logging.New(logs, slog.LevelDebug))
	t.Cleanup(func() { slog.SetDefault(prev) })

	const secret = "Tangerine lighthouse 4471"
	const korean = "비밀번호는 사과나무"
	send := func(path, body string) resp {
		return e.do(http.MethodPost, path, "application/json", []byte(body))
	}
	ok := send("/api/synthesize", `{"member_id":"aria","text":"`+secret+`","request_id":"logs-1"}`)
	if ok.status != http.StatusAccepted {
		t.Fatalf("synthesize: %d %s", ok.status, ok.raw)
	}
	for _, tc := range []struct{ path, body string }{
		{"/api/synthesize", `{"member_id":"aria","text":"` + secret + strings.Repeat("x", 1000) + `"}`},
		{"/api/synthesize", `{"member_id":"aria","text":"` + secret + `.","request_id":"logs-1"}`},
		{"/api/synthesize", `{"member_id":"nobody","text":"` + secret + `"}`},
		{"/api/synthesize", `{"member_id":"aria","text":"` + secret + `","Text":"` + korean + `"}`},
		{"/api/synthesize", `{"member_id":"aria","text":"` + secret + `","speed":9}`},
		{"/api/batch", `{"items":[{"member_id":"aria","text":"` + korean + `"},{"member_id":"aria","text":"` + secret + `","format":"flac"}]}`},
		{"/api/batch", `{"items":[{"member_id":"aria","text":"` + korean + `"}]}`},
		{"/api/synthesize", `{"member_id":"aria","text":"` + korean},
	} {
		send(tc.path, tc.body)
	}
	e.do(http.MethodGet, "/api/status?id="+ok.body["job_id"].(string), "", nil)
	// A publish that fails is logged with its error.
	e.server = api.NewServer(api.Deps{Config: e.cfg, Store: e.st, Publisher: downPublisher{}, Signer: e.signer, Now: e.clock.Now})
	e.srv.Config.Handler = e.server.Mux()
	if r := send("/api/synthesize", `{"member_id":"aria","text":"`+korean+` `+secret+`"}`); r.status != http.StatusServiceUnavailable {
		t.Fatalf("synthesize while Pub/Sub is down: %d %s", r.status, r.raw)
	}
	out := logs.String()
	if !strings.Contains(out, "publish failed") || strings.Count(out, `"httpRequest"`) < 10 {
		t.Fatalf("the logs do not hold what the test made happen:\n%s", out)
	}
	for _, word := range []string{"Tangerine", "lighthouse", "4471", "비밀번호", "사과나무"} {
		if strings.Contains(out, word) {
			t.Errorf("fan text %q in the logs:\n%s", word, out)
		}
	}
}
