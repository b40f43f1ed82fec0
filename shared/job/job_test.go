package job

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	all := []Status{Queued, Running, Succeeded, Failed}
	legal := map[[2]Status]bool{
		{Queued, Running}: true, {Queued, Failed}: true,
		{Running, Running}: true, {Running, Queued}: true, {Running, Succeeded}: true, {Running, Failed}: true,
	}
	for _, from := range all {
		for _, to := range all {
			j := &Job{Status: from}
			err := j.Transition(to, time.Now())
			if legal[[2]Status{from, to}] {
				if err != nil || j.Status != to {
					t.Errorf("%s → %s refused: %v", from, to, err)
				}
				continue
			}
			var te *TransitionError
			if !errors.As(err, &te) || j.Status != from {
				t.Errorf("%s → %s allowed (err %v)", from, to, err)
			}
		}
	}
}

func TestTransitionStamps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j := New("m", "v", 0, "hi", 1, t0)
	if !ValidGeneratedID(j.ID) || j.Status != Queued || !j.AudioExpiresAt(time.Hour).IsZero() {
		t.Fatalf("new job %+v", j)
	}
	_ = j.Transition(Running, t0.Add(time.Second))
	j.Worker, j.LeaseUntil = "w", t0.Add(time.Minute)
	if j.Attempts != 1 || !j.LeaseLive(t0.Add(30*time.Second)) || j.LeaseLive(t0.Add(2*time.Minute)) {
		t.Fatalf("running job %+v", j)
	}
	_ = j.Transition(Succeeded, t0.Add(2*time.Second))
	if j.Worker != "" || !j.FinishedAt.Equal(t0.Add(2*time.Second)) || j.Status.Terminal() != true {
		t.Fatalf("finished job %+v", j)
	}
	if got := j.AudioExpiresAt(time.Hour); !got.Equal(t0.Add(2*time.Second + time.Hour)) {
		t.Fatalf("audio of a job finished at %v with 1 h retention expires %v", j.FinishedAt, got)
	}
	if a, c := j.ObjectName(), j.CaptionsObjectName(); strings.Contains(a, j.ID) || strings.TrimSuffix(a, ".wav") != strings.TrimSuffix(c, ".vtt") ||
		!strings.HasPrefix(a, "audio/") || !Shareable(a) || !Shareable(c) {
		t.Fatal(a, c)
	}
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct{ format, ext, contentType string }{
		{"", ".wav", "audio/wav"}, {FormatWAV, ".wav", "audio/wav"},
		{FormatOpus, ".opus", "audio/ogg"}, {FormatMP3, ".mp3", "audio/mpeg"},
	} {
		j := &Job{ID: "abc", Format: tt.format}
		if got := j.ObjectName(); got != objectStem("abc")+tt.ext {
			t.Errorf("format %q: object %s", tt.format, got)
		}
		if got := ContentType(j.AudioFormat()); got != tt.contentType {
			t.Errorf("format %q: content type %s", tt.format, got)
		}
		if tt.format != "" && !ValidFormat(tt.format) {
			t.Errorf("%q invalid", tt.format)
		}
	}
	for _, bad := range []string{"", "WAV", "ogg", "flac", " mp3"} {
		if ValidFormat(bad) {
			t.Errorf("%q valid", bad)
		}
	}
	if New("m", "v", 0, "hi", 1, time.Now()).Format != FormatWAV {
		t.Error("a new job is not WAV")
	}
	// The format is part of what a result is: another format, another key.
	if ResultKey("c", 0, "hi", 1, FormatWAV) == ResultKey("c", 0, "hi", 1, FormatOpus) {
		t.Error("the cache key ignores the format")
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !ValidGeneratedID(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "short", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "aaaaaaaaaaaaaaaaaaaaaaaaa1", "../../etc/passwdxxxxxxxxxx"} {
		if ValidGeneratedID(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// An object name never carries the job id, and only digest names may be
// shared: a result written under a job id (before digest names) is not.
func TestObjectNamesAreNoCapability(t *testing.T) {
	a, b := &Job{ID: NewID()}, &Job{ID: NewID(), Format: FormatOpus}
	if a.ObjectName() == b.ObjectName() || strings.Contains(a.ObjectName(), a.ID) || a.ObjectName() != (&Job{ID: a.ID}).ObjectName() {
		t.Fatalf("names %s, %s: want distinct, deterministic, without the id", a.ObjectName(), b.ObjectName())
	}
	for name, want := range map[string]bool{
		a.ObjectName(): true, b.ObjectName(): true, b.CaptionsObjectName(): true,
		"audio/" + a.ID + ".wav": false, "audio/" + a.ID + ".vtt": false, "other/" + strings.TrimPrefix(a.ObjectName(), "audio/"): false,
		strings.ToUpper(a.ObjectName()): false, "audio/.wav": false,
	} {
		if got := Shareable(name); got != want {
			t.Errorf("Shareable(%q) = %v, want %v", name, got, want)
		}
	}
}
