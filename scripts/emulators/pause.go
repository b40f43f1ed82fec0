//go:build unix

package emulators

import (
	"fmt"
	"syscall"
)

// Pause freezes one emulator ("firestore", "pubsub" or "gcs") with SIGSTOP
// to its process group, for fault tests: its port stays open but nothing
// answers, as with a hung or partitioned service, and its data survives
// until Resume. If this process dies meanwhile the group is orphaned with
// stopped members, so the kernel sends it SIGHUP and SIGCONT and the wrapper
// kills it; Stop sends SIGKILL after its grace period.
func (s *Stack) Pause(name string) error { return s.signal(name, syscall.SIGSTOP) }

// Resume lets a paused emulator run again (SIGCONT).
func (s *Stack) Resume(name string) error { return s.signal(name, syscall.SIGCONT) }

func (s *Stack) signal(name string, sig syscall.Signal) error {
	for _, p := range s.procs {
		if p.name == name {
			return signalGroup(p.pgid, sig)
		}
	}
	return fmt.Errorf("emulators: no running emulator named %q", name)
}
