package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Bytes is a size in bytes, read from the environment as a plain number or
// with a binary unit: "18GiB", "512MiB", "64KiB".
type Bytes int64

var byteUnits = []struct {
	suffix string
	size   int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// EnvDecode implements envconfig.Decoder.
func (b *Bytes) EnvDecode(val string) error {
	s := strings.TrimSpace(val)
	unit := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, unit = strings.TrimSpace(rest), u.size
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		// envconfig names the field, not the variable: say which it is.
		return fmt.Errorf("%q is not a size like 18GiB, 512MiB or a number of bytes (CHORUS_GPU_MEM_LIMIT)", val)
	}
	*b = Bytes(n * unit)
	return nil
}

// String writes the size with the largest unit that divides it.
func (b Bytes) String() string {
	for _, u := range byteUnits {
		if int64(b) != 0 && int64(b)%u.size == 0 {
			return strconv.FormatInt(int64(b)/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}
