// Package localstack is how operator tools find the local stack that
// `make dev` runs: while it is up, scripts/devstack writes a small env
// file (NAME=value lines) with every variable an operator command needs —
// the project, the emulator hosts, the buckets, the ONNX Runtime library
// and the app's address — and removes it when it stops. chorus-voices
// reads it when no project is set in its environment, so on a development
// machine operator commands work with no set-up at all.
package localstack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// DefaultPath is where `make dev` writes the file, relative to the
// repository root (the stack's -dir is .dev).
const DefaultPath = ".dev/stack.env"

// PathEnv names a variable that points at the file instead.
const PathEnv = "CHORUS_STACK_ENV"

// PIDKey is the variable holding the process id of the stack that wrote
// the file: a file whose process is gone is stale.
const PIDKey = "CHORUS_STACK_PID"

// ErrNotRunning says a stack file was found but the stack that wrote it
// has stopped (it was killed before it could remove the file).
var ErrNotRunning = errors.New("the local stack that wrote it is not running")

var (
	keyPattern   = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	valuePattern = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]*$`)
)

// Env is the stack's variables.
type Env map[string]string

// Marshal writes env as NAME=value lines, sorted, under a comment. Values
// hold no spaces or quotes, so the file is also a POSIX shell script
// (`set -a; . .dev/stack.env; set +a`).
func (e Env) Marshal() ([]byte, error) {
	keys := make([]string, 0, len(e))
	for k, v := range e {
		if !keyPattern.MatchString(k) {
			return nil, fmt.Errorf("localstack: bad variable name %q", k)
		}
		if !valuePattern.MatchString(v) {
			return nil, fmt.Errorf("localstack: %s=%q has characters a shell would need quoted", k, v)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("# The local Chorus stack (make dev) while it runs; removed when it stops.\n")
	b.WriteString("# chorus-voices reads it; for other tools: set -a; . .dev/stack.env; set +a\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, e[k])
	}
	return b.Bytes(), nil
}

// Parse reads NAME=value lines; blank lines and # comments are skipped.
func Parse(data []byte) (Env, error) {
	e := Env{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !keyPattern.MatchString(k) || !valuePattern.MatchString(v) {
			return nil, fmt.Errorf("localstack: line %d is not NAME=value", n)
		}
		e[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	return e, nil
}

// Write writes env to path atomically (a reader never sees half a file).
func Write(path string, e Env) error {
	data, err := e.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	return nil
}

// Find returns the stack file to use: $CHORUS_STACK_ENV when set, else
// .dev/stack.env in dir or the nearest parent that has one. It returns
// os.ErrNotExist when there is none.
func Find(dir string) (string, error) {
	if p := os.Getenv(PathEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("localstack: %s=%s: %w", PathEnv, p, err)
		}
		return p, nil
	}
	for {
		p := filepath.Join(dir, DefaultPath)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Load reads the stack file at path and checks that the stack that wrote
// it still runs (ErrNotRunning otherwise).
func Load(path string) (Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	e, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pid, err := strconv.Atoi(e[PIDKey])
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("%s: %s is missing", path, PIDKey)
	}
	if !alive(pid) {
		return nil, fmt.Errorf("%s: %w (process %d)", path, ErrNotRunning, pid)
	}
	return e, nil
}

// alive reports whether a process with this id exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Apply sets each of env's variables that the environment does not
// already set (an explicit variable wins), and returns the names it set.
func (e Env) Apply() ([]string, error) {
	var set []string
	for k, v := range e {
		if _, ok := os.LookupEnv(k); ok {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return set, fmt.Errorf("localstack: set %s: %w", k, err)
		}
		set = append(set, k)
	}
	sort.Strings(set)
	return set, nil
}
