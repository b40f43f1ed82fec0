//go:build !unix

package onnxpb

import (
	"io"
	"os"
)

// mapFile reads f where the platform has no mmap.
func mapFile(f *os.File) (data []byte, unmap func(), err error) {
	data, err = io.ReadAll(f)
	return data, func() {}, err
}
