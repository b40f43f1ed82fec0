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

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// dockerfiles are the images Cloud Build makes, each built with the
// repository root as its context (cloudbuild.yaml).
var dockerfiles = []string{"synth-job/Dockerfile", "synth-job/Dockerfile.cpu", "web/Dockerfile"}

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
		t.Fatalf("the worker does not build from the Docker context (go build ./synth-job, as synth-job/Dockerfile and Dockerfile.cpu): %v\n%s", err, out)
	}
}

// stage returns the lines of the named build stage (FROM ... AS name up to
// the next FROM), with line continuations joined.
func stage(t *testing.T, dockerfile, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var lines []string
	in := false
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && strings.EqualFold(fields[0], "FROM") {
			in = len(fields) == 4 && strings.EqualFold(fields[2], "AS") && fields[3] == name
			if in {
				lines = append(lines, strings.Join(fields, " "))
			}
			continue
		}
		if in && len(fields) > 0 && !strings.HasPrefix(fields[0], "#") {
			lines = append(lines, strings.Join(fields, " "))
		}
	}
	if len(lines) == 0 {
		t.Fatalf("%s has no stage %q", dockerfile, name)
	}
	return lines
}

// argDefault returns the default of ARG name in a Dockerfile.
func argDefault(t *testing.T, dockerfile, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ARG "+name+"="); ok {
			return v
		}
	}
	t.Fatalf("%s declares no ARG %s with a default", dockerfile, name)
	return ""
}

// shellAssign returns the value of NAME=value in a shell script.
func shellAssign(t *testing.T, script, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, script))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s assigns no %s", script, name)
	return ""
}

// The CPU image (worker_accelerator = "none") is the GPU image's worker
// without CUDA: the same build stage, so the same binary; the ONNX Runtime
// CPU library that development and CI test with, under the same pin; and
// no CUDA base image anywhere.
func TestCPUImageIsTheSameWorkerWithoutCUDA(t *testing.T) {
	gpu, cpu := "synth-job/Dockerfile", "synth-job/Dockerfile.cpu"
	if g, c := stage(t, gpu, "build"), stage(t, cpu, "build"); strings.Join(g, "\n") != strings.Join(c, "\n") {
		t.Errorf("the build stages differ, so the images would not run the same binary:\n%s:\n%s\n%s:\n%s",
			gpu, strings.Join(g, "\n"), cpu, strings.Join(c, "\n"))
	}
	for _, arg := range []string{"GO_IMAGE", "BUILD_IMAGE", "ESPEAK_NG_VERSION"} {
		if g, c := argDefault(t, gpu, arg), argDefault(t, cpu, arg); g != c {
			t.Errorf("ARG %s: %s has %s, %s has %s", arg, gpu, g, cpu, c)
		}
	}
	if got, want := argDefault(t, cpu, "ORT_VERSION"), shellAssign(t, "scripts/setup-ort.sh", "version"); got != want {
		t.Errorf("%s installs ONNX Runtime %s, scripts/setup-ort.sh (what the tests run) %s", cpu, got, want)
	}
	if got, want := argDefault(t, cpu, "ORT_SHA256"), shellAssign(t, "scripts/setup-ort.sh", "want_sha256"); got != want {
		t.Errorf("%s pins sha256 %s, scripts/setup-ort.sh %s", cpu, got, want)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, cpu))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.ToLower(line)
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		for _, gpuOnly := range []string{"nvidia", "cuda", "-gpu"} {
			if strings.Contains(l, gpuOnly) {
				t.Errorf("%s mentions %q outside a comment: %s", cpu, gpuOnly, strings.TrimSpace(line))
			}
		}
	}
	if !strings.Contains(string(b), "CHORUS_EXECUTION_PROVIDER=cpu") {
		t.Errorf("%s does not default the worker to the CPU provider", cpu)
	}
}
