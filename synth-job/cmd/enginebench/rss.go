package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/chorus-voice/chorus/synth-job/engine"
)

// rss is the rss section: resident memory over many syntheses.
func (b *bench) rss(ctx context.Context) error {
	e, err := b.engine(ctx, engine.ProviderCPU, b.o.threads, 0, 0)
	if err != nil {
		return err
	}
	defer e.Close()
	// RSS after 100 syntheses, halfway and at the end: memory that is
	// still settling grows less in the second half than in the first; a
	// leak grows as much.
	half := (100 + b.o.rssRuns) / 2
	var rss100, rssHalf int64
	for i := 1; i <= b.o.rssRuns; i++ {
		if _, err := synth(ctx, e, b.v, []engine.Request{{Text: sentences[i%len(sentences)]}}); err != nil {
			return err
		}
		switch i {
		case 100:
			rss100, err = vmRSS()
		case half:
			rssHalf, err = vmRSS()
		}
		if err != nil {
			return err
		}
	}
	rssN, err := vmRSS()
	if err != nil {
		return err
	}
	perRun := func(from, to int64, runs int) float64 { return float64(to-from) / float64(max(runs, 1)) }
	fmt.Printf("| RSS after 100 / %d / %d syntheses | %.1f / %.1f / %.1f MiB | ratio %.3f; %.1f KiB per synthesis in the first half, %.1f in the second |\n",
		half, b.o.rssRuns, float64(rss100)/1024, float64(rssHalf)/1024, float64(rssN)/1024, float64(rssN)/float64(rss100),
		perRun(rss100, rssHalf, half-100), perRun(rssHalf, rssN, b.o.rssRuns-half))
	b.record("rss", map[string]any{"rss100_kib": rss100, "rss_half_kib": rssHalf, "rssN_kib": rssN, "runs": b.o.rssRuns})
	return nil
}

// vmRSS reads the process's resident set size in KiB from /proc/self/status.
func vmRSS() (int64, error) { return statusKiB("VmRSS:") }

// statusKiB reads one field of /proc/self/status given in kB.
func statusKiB(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", field, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s %q: %w", field, rest, err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}
