package emulators

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	testProject = "demo-chorus-emulators"
	// helperEnv makes the test binary run parentDeathHelper instead of tests.
	helperEnv = "CHORUS_EMULATORS_TEST_HELPER_LOGDIR"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(parentDeathHelper(dir))
	}
	os.Exit(RunTests(m, Options{ProjectID: testProject, Firestore: true, PubSub: true, GCS: true}))
}

// do sends a request and returns the status code and body.
func do(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

func mustStatus(t *testing.T, want int, method, url, contentType, body string) string {
	t.Helper()
	code, got := do(t, method, url, contentType, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, url, code, want, got)
	}
	return got
}

func TestEmulatorsAnswer(t *testing.T) {
	st := Require(t)
	// Unique names keep the test repeatable (-count) on the shared stack.
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	topic, bucket := "answer-topic-"+suffix, "answer-bucket-"+suffix

	t.Run("firestore", func(t *testing.T) {
		mustStatus(t, 200, "GET", "http://"+st.FirestoreHost+"/", "", "")
	})

	t.Run("pubsub", func(t *testing.T) {
		base := "http://" + st.PubSubHost + "/v1/projects/" + testProject + "/topics"
		mustStatus(t, 200, "PUT", base+"/"+topic, "application/json", "{}")
		if got := mustStatus(t, 200, "GET", base, "", ""); !strings.Contains(got, "projects/"+testProject+"/topics/"+topic) {
			t.Fatalf("topic list %s lacks the created topic", got)
		}
	})

	t.Run("gcs", func(t *testing.T) {
		base := "http://" + st.GCSHost
		mustStatus(t, 200, "POST", base+"/storage/v1/b?project="+testProject, "application/json", `{"name":"`+bucket+`"}`)
		mustStatus(t, 200, "POST", base+"/upload/storage/v1/b/"+bucket+"/o?uploadType=media&name=hello.txt", "text/plain", "hello chorus")
		// A path-style XML read only works when -public-host is the listening address.
		if got := mustStatus(t, 200, "GET", base+"/"+bucket+"/hello.txt", "", ""); got != "hello chorus" {
			t.Fatalf("XML-API read = %q, want %q", got, "hello chorus")
		}
		if got := mustStatus(t, 200, "GET", base+"/storage/v1/b/"+bucket+"/o/hello.txt?alt=media", "", ""); got != "hello chorus" {
			t.Fatalf("JSON-API read = %q, want %q", got, "hello chorus")
		}
	})
}

func TestEnv(t *testing.T) {
	st := Require(t)
	want := map[string]string{
		"FIRESTORE_EMULATOR_HOST": st.FirestoreHost,
		"PUBSUB_EMULATOR_HOST":    st.PubSubHost,
		"STORAGE_EMULATOR_HOST":   "http://" + st.GCSHost,
		"GOOGLE_CLOUD_PROJECT":    testProject,
		"CLOUDSDK_CORE_PROJECT":   testProject,
	}
	got := st.Env()
	if len(got) != len(want) {
		t.Errorf("Env() = %v, want %v", got, want)
	}
	for k, v := range want {
		if !strings.HasPrefix(strings.TrimPrefix(v, "http://"), "127.0.0.1:") && strings.HasSuffix(k, "_HOST") {
			t.Errorf("%s = %q, want 127.0.0.1:PORT", k, v)
		}
		if got[k] != v {
			t.Errorf("Env()[%s] = %q, want %q", k, got[k], v)
		}
		// RunTests called Setenv.
		if env := os.Getenv(k); env != v {
			t.Errorf("os.Getenv(%s) = %q, want %q", k, env, v)
		}
	}
}

func TestResetFirestoreEmptiesTheDatabase(t *testing.T) {
	st := Require(t)
	docs := "http://" + st.FirestoreHost + "/v1/projects/" + testProject + "/databases/(default)/documents"
	mustStatus(t, 200, "POST", docs+"/voices?documentId=v1", "application/json", `{"fields":{"name":{"stringValue":"alto"}}}`)
	if got := mustStatus(t, 200, "GET", docs+"/voices/v1", "", ""); !strings.Contains(got, "alto") {
		t.Fatalf("document read back = %s, want the written field", got)
	}

	if err := st.ResetFirestore(t.Context()); err != nil {
		t.Fatalf("ResetFirestore: %v", err)
	}
	mustStatus(t, 404, "GET", docs+"/voices/v1", "", "")
}

// TestWarmUpLeavesNothingBehind: Start's warm-up requests (a document, a
// topic and a subscription) are gone when the tests get the stack.
func TestWarmUpLeavesNothingBehind(t *testing.T) {
	st := Require(t)
	mustStatus(t, 404, "GET", "http://"+st.FirestoreHost+"/v1/projects/"+testProject+"/databases/(default)/documents/chorus-warmup/w", "", "")
	mustStatus(t, 404, "GET", "http://"+st.PubSubHost+"/v1/projects/"+testProject+"/topics/chorus-warmup", "", "")
	mustStatus(t, 404, "GET", "http://"+st.PubSubHost+"/v1/projects/"+testProject+"/subscriptions/chorus-warmup", "", "")
}

// TestResetFirestoreRetriesAndWaits: a reset outlives an answer slower than
// any fixed client timeout the harness once had (5 s), and retries a 503
// and a dropped connection.
func TestResetFirestoreRetriesAndWaits(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "/emulator/v1/projects/demo-chorus-reset/databases/(default)/documents"
		if r.Method != http.MethodDelete || r.URL.Path != want {
			t.Errorf("request %s %s, want DELETE %s", r.Method, r.URL.Path, want)
		}
		switch calls.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			time.Sleep(6 * time.Second)
			fmt.Fprint(w, "{}")
		}
	}))
	defer srv.Close()
	st := &Stack{ProjectID: "demo-chorus-reset", FirestoreHost: srv.Listener.Addr().String(),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, logger: slog.New(slog.DiscardHandler)}
	if err := st.ResetFirestore(t.Context()); err != nil {
		t.Fatalf("ResetFirestore: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d requests, want 3 (503, dropped, slow 200)", n)
	}

	// A permanent error is not retried, and the caller's deadline ends the wait.
	calls.Store(0)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no such project", http.StatusBadRequest)
	}))
	defer bad.Close()
	st.FirestoreHost = bad.Listener.Addr().String()
	if err := st.ResetFirestore(t.Context()); err == nil || !strings.Contains(err.Error(), "400") || calls.Load() != 1 {
		t.Fatalf("ResetFirestore on a 400: err %v after %d requests, want the 400 after 1", err, calls.Load())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	st.FirestoreHost = "127.0.0.1:1" // nothing listens
	if err := st.ResetFirestore(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ResetFirestore on a closed port: %v, want the caller's deadline", err)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		notDemo bool
	}{
		{"production project", Options{ProjectID: "chorus-prod", Firestore: true}, true},
		{"empty project", Options{Firestore: true}, true},
		{"bare demo prefix", Options{ProjectID: "demo-", GCS: true}, true},
		{"upper case", Options{ProjectID: "demo-Chorus", GCS: true}, true},
		{"demo inside", Options{ProjectID: "my-demo-chorus", GCS: true}, true},
		{"nothing selected", Options{ProjectID: "demo-chorus"}, false},
		{"port out of range", Options{ProjectID: "demo-chorus", GCS: true, GCSPort: 70000}, false},
		{"same fixed port twice", Options{ProjectID: "demo-chorus", GCS: true, Firestore: true, GCSPort: 45123, FirestorePort: 45123}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logDir := filepath.Join(t.TempDir(), "logs")
			tc.o.LogDir = logDir
			st, err := Start(t.Context(), tc.o)
			if err == nil {
				st.Stop(context.Background())
				t.Fatal("Start succeeded, want an error")
			}
			if got := errors.Is(err, ErrNotDemoProject); got != tc.notDemo {
				t.Errorf("errors.Is(%v, ErrNotDemoProject) = %v, want %v", err, got, tc.notDemo)
			}
			if _, statErr := os.Stat(logDir); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("rejected Start created its log directory (stat: %v)", statErr)
			}
		})
	}
}

func TestStartRejectsTakenFixedPort(t *testing.T) {
	Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(t.Context(), Options{ProjectID: "demo-chorus-fixed", GCS: true, GCSPort: port, LogDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Start on a taken fixed port: err = %v, want one saying the port is in use", err)
	}
}

// TestStartRetriesWhenPortIsTaken gives an emulator a port on which another
// HTTP server already answers 200 to every request: Start must notice that
// the listener is not its own and use another port. The fake-gcs-server exits
// when it cannot bind; the Pub/Sub emulator keeps running without a listener,
// so only the ownership check saves it from trusting the impostor.
func TestStartRetriesWhenPortIsTaken(t *testing.T) {
	Require(t)
	for _, tc := range []struct {
		name  string
		o     Options
		host  func(*Stack) string
		probe string
	}{
		{"gcs", Options{GCS: true}, func(s *Stack) string { return s.GCSHost }, "/storage/v1/b"},
		{"pubsub", Options{PubSub: true}, func(s *Stack) string { return s.PubSubHost }, "/v1/projects/demo-chorus-retry/topics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{}`)
			}))
			defer impostor.Close()
			taken := impostor.Listener.Addr().(*net.TCPAddr).Port

			var picks []int
			o := tc.o
			o.ProjectID, o.LogDir = "demo-chorus-retry", t.TempDir()
			o.pickPort = func() (int, error) {
				if len(picks) == 0 {
					picks = append(picks, taken)
					return taken, nil
				}
				p, err := freePort()
				picks = append(picks, p)
				return p, err
			}
			st, err := Start(t.Context(), o)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer st.Stop(context.Background())
			if len(picks) != 2 {
				t.Fatalf("ports picked = %v, want the taken one then another", picks)
			}
			if want := "127.0.0.1:" + strconv.Itoa(picks[1]); tc.host(st) != want {
				t.Fatalf("host = %q, want %q (the taken port was %d)", tc.host(st), want, taken)
			}
			mustStatus(t, 200, "GET", "http://"+tc.host(st)+tc.probe, "", "")
		})
	}
}

// TestStartFailureReportsLogAndRetries runs a launcher that dies at once.
func TestStartFailureReportsLogAndRetries(t *testing.T) {
	if err := supported(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	launcher := filepath.Join(dir, "broken-emulator")
	if err := os.WriteFile(launcher, []byte("#!/bin/sh\necho \"broken emulator refuses $*\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPubSubEmulator, launcher)
	logDir := filepath.Join(dir, "logs")

	_, err := Start(t.Context(), Options{ProjectID: "demo-chorus-broken", PubSub: true, LogDir: logDir})
	if err == nil {
		t.Fatal("Start with a launcher that exits succeeded")
	}
	for _, want := range []string{"exited before answering", "exit status 3", "broken emulator refuses --host=127.0.0.1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, name := range []string{"pubsub.log", "pubsub.attempt2.log"} {
		if _, err := os.Stat(filepath.Join(logDir, name)); err != nil {
			t.Errorf("log of each attempt: %v", err)
		}
	}
}

func TestAvailableNamesMissingLauncher(t *testing.T) {
	t.Setenv(EnvFirestoreEmulator, filepath.Join(t.TempDir(), "missing"))
	err := Available(t.Context(), Options{ProjectID: "demo-chorus", Firestore: true})
	if err == nil || !strings.Contains(err.Error(), EnvFirestoreEmulator) {
		t.Fatalf("Available = %v, want an error naming %s", err, EnvFirestoreEmulator)
	}
}

// snapshot records the live members of each emulator's process group.
func snapshot(t *testing.T, st *Stack) map[string][]int {
	t.Helper()
	groups := map[string][]int{}
	for _, p := range st.procs {
		members, err := groupMembers(p.pgid)
		if err != nil {
			t.Fatal(err)
		}
		groups[p.name] = members
	}
	return groups
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestStopEndsEveryProcess(t *testing.T) {
	Require(t)
	logDir := filepath.Join(t.TempDir(), "logs")
	st, err := Start(t.Context(), Options{ProjectID: "demo-chorus-stop", Firestore: true, GCS: true, LogDir: logDir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	groups := snapshot(t, st)
	// The Firestore launcher forks java without exec: wrapper, bash and java.
	if n := len(groups["firestore"]); n < 3 {
		t.Fatalf("firestore group has %d live processes %v, want wrapper, launcher and JVM", n, groups["firestore"])
	}
	select {
	case <-st.Done():
		t.Fatal("Done closed while the emulators run")
	default:
	}

	if err := st.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, p := range st.procs {
		if members, err := groupMembers(p.pgid); err != nil || len(members) != 0 {
			t.Errorf("%s: process group %d after Stop: members %v, err %v", p.name, p.pgid, members, err)
		}
	}
	for name, pids := range groups {
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("%s: process %d alive after Stop", name, pid)
			}
		}
	}
	select {
	case <-st.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	if err := st.Stop(t.Context()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	// The caller's log directory is kept.
	if _, err := os.Stat(filepath.Join(logDir, "firestore.log")); err != nil {
		t.Errorf("firestore log after Stop: %v", err)
	}
}

func TestStopRemovesOwnLogDir(t *testing.T) {
	Require(t)
	st, err := Start(t.Context(), Options{ProjectID: "demo-chorus-logs", GCS: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := st.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(st.LogDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary log directory %s after Stop: %v", st.LogDir, err)
	}
}

// parentDeathHelper runs in a child test binary: it starts the Firestore
// emulator, reports the process group and waits to be killed.
func parentDeathHelper(logDir string) int {
	st, err := Start(context.Background(), Options{ProjectID: "demo-chorus-orphan", Firestore: true, LogDir: logDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("PGID %d\n", st.procs[0].pgid)
	select {} // until SIGKILL
}

// TestEmulatorsDieWithTheirParent kills (SIGKILL, no clean-up possible) a
// process that started an emulator, and expects the whole emulator process
// group, JVM included, to go away.
func TestEmulatorsDieWithTheirParent(t *testing.T) {
	Require(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), DefaultStartTimeout)
	defer cancel()
	helper := exec.CommandContext(ctx, exe, "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"="+t.TempDir())
	helper.Stderr = os.Stderr
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		helper.Process.Kill()
		helper.Wait()
		t.Fatalf("helper did not report its emulator: %v", err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "PGID ")))
	if err != nil || pgid <= 1 {
		helper.Process.Kill()
		helper.Wait()
		t.Fatalf("helper printed %q", line)
	}
	t.Cleanup(func() { signalGroup(pgid, syscall.SIGKILL) }) // only if the test fails
	members, err := groupMembers(pgid)
	if err != nil || len(members) < 3 {
		t.Fatalf("emulator group %d: members %v, err %v; want wrapper, launcher and JVM", pgid, members, err)
	}

	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()

	// Liveness, not speed: the kernel signals the wrapper at once.
	deadline := time.Now().Add(time.Minute)
	for {
		left, err := groupMembers(pgid)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator processes %v outlived their parent", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range members {
		if alive(pid) {
			t.Errorf("process %d alive after its parent was killed", pid)
		}
	}
}

func TestPortOwner(t *testing.T) {
	if err := supported(); err != nil {
		t.Skip(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	ownGroup := syscall.Getpgrp()
	if got, err := portOwner(port, ownGroup); err != nil || got != ownerGroup {
		t.Errorf("portOwner(own listener) = %v, %v; want ownerGroup", got, err)
	}
	if got, err := portOwner(port, os.Getpid()+1_000_000); err != nil || got != ownerOther {
		t.Errorf("portOwner(listener of another group) = %v, %v; want ownerOther", got, err)
	}
	members, err := groupMembers(ownGroup)
	if err != nil || !slices.Contains(members, os.Getpid()) {
		t.Errorf("groupMembers(own group) = %v, %v; want to contain %d", members, err, os.Getpid())
	}
	l.Close()
	if got, err := portOwner(port, ownGroup); err != nil || got != ownerNone {
		t.Errorf("portOwner(closed port) = %v, %v; want ownerNone", got, err)
	}
}

// BenchmarkStartStop measures how long each emulator takes from launch to
// its first 200 and back to no process left (make bench).
func BenchmarkStartStop(b *testing.B) {
	for _, bc := range []struct {
		name string
		o    Options
	}{
		{"firestore", Options{Firestore: true}},
		{"pubsub", Options{PubSub: true}},
		{"gcs", Options{GCS: true}},
		{"all", Options{Firestore: true, PubSub: true, GCS: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			Require(b)
			o := bc.o
			o.ProjectID = "demo-chorus-bench"
			o.Logger = slog.New(slog.DiscardHandler)
			for b.Loop() {
				st, err := Start(b.Context(), o)
				if err != nil {
					b.Fatalf("Start: %v", err)
				}
				if err := st.Stop(b.Context()); err != nil {
					b.Fatalf("Stop: %v", err)
				}
			}
		})
	}
}
