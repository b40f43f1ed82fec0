//go:build !linux

package emulators

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
)

// The stack relies on Linux: the parent-death signal and /proc.
var errUnsupported = fmt.Errorf("emulators: %s is not supported (Linux only): %w", runtime.GOOS, errors.ErrUnsupported)

func supported() error                      { return errUnsupported }
func setProcAttr(*exec.Cmd)                 {}
func signalGroup(int, syscall.Signal) error { return errUnsupported }
func groupMembers(int) ([]int, error)       { return nil, errUnsupported }
func portOwner(int, int) (owner, error)     { return ownerNone, errUnsupported }

type owner int

const (
	ownerNone owner = iota
	ownerGroup
	ownerOther
)
