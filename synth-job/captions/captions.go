// Package captions writes the WebVTT file stored beside every job's audio:
// one cue per sentence the user wrote, timed from the samples the engine
// actually wrote. It is pure Go, shared by the engine (which times the
// cues) and the worker (which stores them).
package captions

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of a WebVTT file.
const ContentType = "text/vtt"

// Cue is one sentence and when it is heard.
type Cue struct {
	Start, End time.Duration
	// Text is the sentence as the user wrote it.
	Text string
}

// WebVTT renders cues as a WebVTT file: numbered cues, times to the
// millisecond, text escaped (&, <, >) with blank lines removed (a blank
// line would end the cue).
func WebVTT(cues []Cue) []byte {
	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	for i, c := range cues {
		fmt.Fprintf(&b, "\n%d\n%s --> %s\n%s\n", i+1, timestamp(c.Start), timestamp(c.End), payload(c.Text))
	}
	return b.Bytes()
}

// timestamp formats d as hh:mm:ss.ttt, rounded to the millisecond.
func timestamp(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	if ms < 0 {
		ms = 0
	}
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func payload(text string) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(strings.ReplaceAll(l, "\r", " ")); l != "" {
			lines = append(lines, escaper.Replace(l))
		}
	}
	if len(lines) == 0 {
		return "\u00a0" // a cue needs a payload line; keep its timing
	}
	return strings.Join(lines, "\n")
}

var unescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&nbsp;", "\u00a0")

// Parse reads the WebVTT files WebVTT writes (and plain others: header,
// optional cue identifiers, timings, text; settings after the times and
// NOTE blocks are skipped). It is what tests and tools read captions with.
func Parse(b []byte) ([]Cue, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || !strings.HasPrefix(strings.TrimPrefix(sc.Text(), "\ufeff"), "WEBVTT") {
		return nil, errors.New("captions: not a WebVTT file")
	}
	var (
		cues  []Cue
		cur   *Cue
		lines []string
		skip  bool
	)
	end := func() {
		if cur != nil {
			cur.Text = unescaper.Replace(strings.Join(lines, "\n"))
			cues = append(cues, *cur)
		}
		cur, lines, skip = nil, nil, false
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			end()
		case skip:
		case cur != nil:
			lines = append(lines, line)
		case strings.HasPrefix(line, "NOTE"), strings.HasPrefix(line, "STYLE"), strings.HasPrefix(line, "REGION"):
			skip = true
		case strings.Contains(line, "-->"):
			from, to, _ := strings.Cut(line, "-->")
			s, err := parseTime(strings.TrimSpace(from))
			if err != nil {
				return nil, err
			}
			e, err := parseTime(strings.Fields(to + " x")[0])
			if err != nil {
				return nil, err
			}
			cur = &Cue{Start: s, End: e}
		default: // a cue identifier
		}
	}
	end()
	return cues, sc.Err()
}

func parseTime(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("captions: bad timestamp %q", s)
	}
	sec, frac, ok := strings.Cut(parts[len(parts)-1], ".")
	if !ok || len(frac) != 3 {
		return 0, fmt.Errorf("captions: bad timestamp %q", s)
	}
	var d time.Duration
	units := []time.Duration{time.Hour, time.Minute}[3-len(parts):]
	for i, p := range parts[:len(parts)-1] {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("captions: bad timestamp %q", s)
		}
		d += time.Duration(n) * units[i]
	}
	n, err1 := strconv.Atoi(sec)
	ms, err2 := strconv.Atoi(frac)
	if err1 != nil || err2 != nil || n < 0 || n > 59 || ms < 0 {
		return 0, fmt.Errorf("captions: bad timestamp %q", s)
	}
	return d + time.Duration(n)*time.Second + time.Duration(ms)*time.Millisecond, nil
}
