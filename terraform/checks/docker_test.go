package checks

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerfiles are the images Cloud Build makes, each built with the
// repository root as its context (cloudbuild.yaml).
var dockerfiles = []string{"synth-job/Dockerfile", "web/Dockerfile"}

// contextFiles returns the tracked files that docker build sends from the
// repository root under .dockerignore (Docker's own matcher), and the
// tracked files it leaves out.
func contextFiles(t *testing.T) (sent, left map[string]bool, pm *patternmatcher.PatternMatcher) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err == nil {
		err = exec.Command(git, "-C", repoRoot, "rev-parse", "--git-dir").Run()
	}
	if err != nil {
		// Cloud Build's upload has no .git; CI runs on a clone.
		if os.Getenv("CI") == "" {
			t.Skip("not a git checkout: the tracked files are unknown")
		}
		t.Fatalf("git checkout needed to list tracked files: %v", err)
	}
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err = patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	out, err := exec.Command(git, "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	sent, left = map[string]bool{}, map[string]bool{}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		excluded, err := pm.MatchesOrParentMatches(name)
		if err != nil {
			t.Fatal(err)
		}
		if excluded {
			left[name] = true
		} else {
			sent[name] = true
		}
	}
	return sent, left, pm
}

// copySources reads the sources of a Dockerfile's COPY lines (not those
// copying from another stage).
func copySources(t *testing.T, dockerfile string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var srcs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || !strings.EqualFold(fields[0], "COPY") {
			continue
		}
		args := fields[1:]
		from := false
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			from = from || strings.HasPrefix(args[0], "--from=")
			args = args[1:]
		}
		if !from && len(args) >= 2 {
			srcs = append(srcs, args[:len(args)-1]...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(srcs) == 0 {
		t.Fatalf("%s copies nothing from the context: is the parser reading it?", dockerfile)
	}
	return srcs
}

// The build context holds every tracked file the Dockerfiles copy and
// little else, and the worker builds from exactly that context.
func TestDockerContextHoldsWhatTheImagesCopy(t *testing.T) {
	sent, left, pm := contextFiles(t)
	for _, df := range dockerfiles {
		for _, src := range copySources(t, df) {
			dir := strings.TrimSuffix(src, "/") + "/"
			n := 0
			for name := range sent {
				if name == src || strings.HasPrefix(name, dir) {
					n++
				}
			}
			for name := range left {
				if name == src || strings.HasPrefix(name, dir) {
					t.Errorf("%s copies %s, but .dockerignore leaves out %s", df, src, name)
				}
			}
			if n == 0 {
				t.Errorf("%s copies %s, which the context does not hold", df, src)
			}
		}
	}
	// What must never travel: history, other deployables, local outputs.
	for _, name := range []string{".git/HEAD", "terraform/main.tf", "docs/deploy.md", "web/node_modules/react/index.js",
		"web/dist/index.html", "build/synth-job", "scripts/e2e.sh", "libonnxruntime.so.1"} {
		if excluded, err := pm.MatchesOrParentMatches(name); err != nil || !excluded {
			t.Errorf(".dockerignore sends %s (%v)", name, err)
		}
	}

	// The worker image's build step, on that context alone.
	ctx := t.TempDir()
	for name := range sent {
		data, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(ctx, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", os.DevNull, "./synth-job")
	build.Dir = ctx
	build.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the worker does not build from the Docker context (go build ./synth-job, as synth-job/Dockerfile): %v\n%s", err, out)
	}
}
