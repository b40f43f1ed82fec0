package localstack_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chorus-voice/chorus/shared/localstack"
)

func TestRoundTripAndShellSyntax(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".dev", "stack.env")
	want := localstack.Env{
		"GOOGLE_CLOUD_PROJECT":    "demo-chorus",
		"FIRESTORE_EMULATOR_HOST": "127.0.0.1:40123",
		"STORAGE_EMULATOR_HOST":   "http://127.0.0.1:40125",
		"CHORUS_ORT_LIBRARY":      "/home/u/.cache/chorus/ort/libonnxruntime.so.1",
		localstack.PIDKey:         strconv.Itoa(os.Getpid()),
	}
	if err := localstack.Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := localstack.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// The same file sourced by a POSIX shell gives the same values.
	out, err := exec.Command("sh", "-c", `set -a; . "$1"; set +a; printf %s "$STORAGE_EMULATOR_HOST|$CHORUS_ORT_LIBRARY"`, "sh", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want["STORAGE_EMULATOR_HOST"]+"|"+want["CHORUS_ORT_LIBRARY"] {
		t.Errorf("sourced by sh: %q", out)
	}
}

func TestRefusesWhatAShellWouldMisread(t *testing.T) {
	for name, e := range map[string]localstack.Env{
		"space":     {"A": "x y"},
		"quote":     {"A": `x"`},
		"command":   {"A": "$(id)"},
		"bad name":  {"a-b": "x"},
		"semicolon": {"A": "x;rm"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.Marshal(); err == nil {
				t.Errorf("%v was written", e)
			}
		})
	}
	for _, line := range []string{"A", "A=x y", "lower=x", "A=`id`"} {
		if _, err := localstack.Parse([]byte(line + "\n")); err == nil {
			t.Errorf("%q parsed", line)
		}
	}
}

func TestAStaleFileIsRefused(t *testing.T) {
	// A process that has exited: its id is free again (for a while).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stack.env")
	if err := localstack.Write(path, localstack.Env{localstack.PIDKey: strconv.Itoa(cmd.Process.Pid)}); err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.Load(path); !errors.Is(err, localstack.ErrNotRunning) {
		t.Fatalf("Load = %v, want ErrNotRunning", err)
	}
	if err := localstack.Write(path, localstack.Env{"A": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.Load(path); err == nil {
		t.Fatal("a file without the stack's process id loaded")
	}
}

func TestFindLooksUpFromTheWorkingDirectory(t *testing.T) {
	t.Setenv(localstack.PathEnv, "")
	root := t.TempDir()
	deep := filepath.Join(root, "synth-job", "cmd")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.Find(deep); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Find with no file = %v", err)
	}
	want := filepath.Join(root, localstack.DefaultPath)
	if err := localstack.Write(want, localstack.Env{"A": "b"}); err != nil {
		t.Fatal(err)
	}
	if got, err := localstack.Find(deep); err != nil || got != want {
		t.Fatalf("Find = %q, %v; want %q", got, err, want)
	}
	other := filepath.Join(t.TempDir(), "elsewhere.env")
	if err := localstack.Write(other, localstack.Env{"A": "b"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(localstack.PathEnv, other)
	if got, err := localstack.Find(deep); err != nil || got != other {
		t.Fatalf("Find with %s = %q, %v", localstack.PathEnv, got, err)
	}
}

func TestApplyNeverOverridesTheEnvironment(t *testing.T) {
	t.Setenv("CHORUS_TEST_EXPLICIT", "mine")
	os.Unsetenv("CHORUS_TEST_FROM_STACK")
	t.Cleanup(func() { os.Unsetenv("CHORUS_TEST_FROM_STACK") })
	set, err := localstack.Env{"CHORUS_TEST_EXPLICIT": "stack", "CHORUS_TEST_FROM_STACK": "stack"}.Apply()
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 || set[0] != "CHORUS_TEST_FROM_STACK" {
		t.Errorf("set %v", set)
	}
	if os.Getenv("CHORUS_TEST_EXPLICIT") != "mine" || os.Getenv("CHORUS_TEST_FROM_STACK") != "stack" {
		t.Errorf("environment: %q %q", os.Getenv("CHORUS_TEST_EXPLICIT"), os.Getenv("CHORUS_TEST_FROM_STACK"))
	}
}
