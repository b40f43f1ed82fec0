package emulators

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// setProcAttr puts the wrapper in its own process group (so Stop reaches
// every process the launcher forks) and asks the kernel to send it SIGTERM
// when this process dies, whatever the cause; the wrapper then kills its
// group, so emulators never outlive a killed test binary.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// supported reports why this platform cannot run the stack, or nil.
func supported() error { return nil }

// signalGroup signals every process of group pgid; a group already gone is
// not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pgid, err)
	}
	return nil
}

// groupMembers lists the live (not zombie) processes of group pgid. Zombies
// are left out: an orphaned JVM is reaped by init, which in a container may
// never happen, and a zombie holds no port and no memory.
func groupMembers(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

type owner int

const (
	ownerNone  owner = iota // nobody listens on the port
	ownerGroup              // a process of the group listens
	ownerOther              // someone else listens
)

// portOwner tells who listens on TCP port (any address) in this network
// namespace: matches the inodes of listening sockets in /proc/net/tcp{,6}
// against the socket descriptors of the group's processes.
func portOwner(port, pgid int) (owner, error) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := listeningInodes(table, port, inodes); err != nil {
			return ownerNone, err
		}
	}
	if len(inodes) == 0 {
		return ownerNone, nil
	}
	pids, err := groupMembers(pgid)
	if err != nil {
		return ownerNone, err
	}
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // exited meanwhile
		}
		for _, fd := range fds {
			target, err := os.Readlink(dir + "/" + fd.Name())
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(target, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
				return ownerGroup, nil
			}
		}
	}
	return ownerOther, nil
}

// listeningInodes adds to inodes the sockets of table in state LISTEN on port.
func listeningInodes(table string, port int, inodes map[string]bool) error {
	f, err := os.Open(table)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no IPv6 in this kernel
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
			continue
		}
		inodes[fields[9]] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	return nil
}
