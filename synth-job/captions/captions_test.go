package captions

import (
	"strings"
	"testing"
	"time"
)

func TestWebVTTRoundTrip(t *testing.T) {
	cues := []Cue{
		{0, 1234 * time.Millisecond, "Hello everyone!"},
		{1234 * time.Millisecond, 3*time.Second + 500*time.Microsecond, "Tom & Jerry <3 --> more"},
		{3 * time.Second, time.Hour + 2*time.Minute + 3*time.Second + 4*time.Millisecond, "안녕하세요.\n\n  Second line  "},
	}
	b := WebVTT(cues)
	want := "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.234\nHello everyone!\n\n" +
		"2\n00:00:01.234 --> 00:00:03.001\nTom &amp; Jerry &lt;3 --&gt; more\n\n" +
		"3\n00:00:03.000 --> 01:02:03.004\n안녕하세요.\nSecond line\n"
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Text != "Tom & Jerry <3 --> more" || got[2].Text != "안녕하세요.\nSecond line" ||
		got[1].End != 3001*time.Millisecond || got[2].End != time.Hour+2*time.Minute+3*time.Second+4*time.Millisecond {
		t.Fatalf("parsed %+v", got)
	}
}

func TestParseRejectsOtherFiles(t *testing.T) {
	for _, s := range []string{"", "RIFF....", "WEBVTT\n\n00:00.000 --> 00:01\nx\n"} {
		if _, err := Parse([]byte(s)); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
	cues, err := Parse([]byte("WEBVTT - title\n\nNOTE a note\nstill note\n\n00:01.500 --> 00:02.000 align:start\nhi\n"))
	if err != nil || len(cues) != 1 || cues[0].Start != 1500*time.Millisecond || cues[0].Text != "hi" {
		t.Fatalf("%+v %v", cues, err)
	}
}

func TestEmptyCueKeepsItsTiming(t *testing.T) {
	b := WebVTT([]Cue{{0, time.Second, " \n "}})
	if !strings.Contains(string(b), "00:00:00.000 --> 00:00:01.000\n\u00a0\n") {
		t.Fatalf("%q", b)
	}
}
