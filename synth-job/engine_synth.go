package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"

	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/encode"
	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/voicecache"
	"github.com/chorus-voice/chorus/synth-job/worker"
)

// voiceCheckEvery is how long a resolved voice is used before the cache
// asks the bucket again whether it changed: one metadata round trip per
// voice per interval instead of per batch.
const voiceCheckEvery = time.Minute

// EngineSynth is the production worker.Synth: the ONNX engine over voices
// kept on local disk by the voice cache, and the Opus and MP3 encoders. It
// lives with the binary so that the worker package stays free of cgo.
type EngineSynth struct {
	eng    *engine.Engine
	voices *voicecache.Cache

	mu       sync.Mutex
	resolved map[string]resolvedVoice
}

type resolvedVoice struct {
	v    *voice.Voice
	key  string // model and config objects it was fetched from
	when time.Time
}

// NewEngineSynth serves voices from cache with eng.
func NewEngineSynth(eng *engine.Engine, voices *voicecache.Cache) *EngineSynth {
	return &EngineSynth{eng: eng, voices: voices, resolved: map[string]resolvedVoice{}}
}

// Provider implements worker.Synth.
func (s *EngineSynth) Provider() string { return s.eng.Provider() }

func (s *EngineSynth) voice(ctx context.Context, rec *store.Voice) (*voice.Voice, error) {
	key := rec.ModelObject + "\x00" + rec.ConfigObject
	s.mu.Lock()
	r, ok := s.resolved[rec.ID]
	s.mu.Unlock()
	if ok && r.key == key && time.Since(r.when) < voiceCheckEvery {
		return r.v, nil
	}
	v, err := s.voices.Get(ctx, rec.ID, rec.ModelObject, rec.ConfigObject)
	switch {
	case errors.Is(err, voice.ErrInvalid):
		return nil, worker.Permanent("voice_invalid", "This member's voice is not available.", err)
	case errors.Is(err, storage.ErrObjectNotExist):
		return nil, worker.Permanent("voice_unavailable", "This member's voice is not available.", err)
	case err != nil:
		return nil, fmt.Errorf("load voice %s: %w", rec.ID, err)
	}
	s.mu.Lock()
	s.resolved[rec.ID] = resolvedVoice{v: v, key: key, when: time.Now()}
	s.mu.Unlock()
	return v, nil
}

// Synthesize implements worker.Synth.
func (s *EngineSynth) Synthesize(ctx context.Context, rec *store.Voice, items []worker.Item) ([]worker.Audio, error) {
	v, err := s.voice(ctx, rec)
	if err != nil {
		return nil, err
	}
	reqs := make([]engine.Request, len(items))
	for i, it := range items {
		reqs[i] = engine.Request{Text: it.Text, SpeakerID: it.SpeakerID, Speed: it.Speed, Lexicon: it.Lexicon}
	}
	res, err := s.eng.Synthesize(ctx, v, reqs)
	if err != nil {
		if errors.Is(err, engine.ErrInvalidVoice) {
			return nil, worker.Permanent("voice_invalid", "This member's voice is not available.", err)
		}
		return nil, err
	}
	out := make([]worker.Audio, len(res))
	// Encoding is CPU work of its own (Opus most): one item per core.
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = itemError(r.Err)
			continue
		}
		g.Go(func() error {
			out[i] = encodeAudio(r, items[i].Format)
			return nil
		})
	}
	_ = g.Wait()
	return out, nil
}

// encodeAudio encodes the engine's levelled samples in the item's format.
// The duration and the captions are the samples': every encoder keeps the
// length exactly.
func encodeAudio(r engine.Result, format string) worker.Audio {
	a := worker.Audio{Duration: r.Duration, Cues: r.Cues}
	a.Data, a.SampleRate, a.Err = encode.Encode(format, r.Samples, r.SampleRate)
	if errors.Is(a.Err, encode.ErrFormat) {
		a.Err = worker.Permanent("invalid_format", "The audio format is not one Chorus makes.", a.Err)
	}
	return a
}

// itemError gives the engine's permanent per-item failures their job codes.
func itemError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrNoPhonemes):
		return worker.Permanent("text_unsupported", "The voice found nothing it could say in this text.", err)
	case errors.Is(err, engine.ErrSpeaker):
		return worker.Permanent("speaker_not_found", "This member's voice is not available.", err)
	case errors.Is(err, engine.ErrSpeed):
		return worker.Permanent("speed_out_of_range", "The speed is outside what the voice supports.", err)
	case errors.Is(err, engine.ErrInvalidVoice):
		return worker.Permanent("voice_invalid", "This member's voice is not available.", err)
	case errors.Is(err, engine.ErrTooLong):
		return worker.Permanent("text_too_long_for_device", "A sentence is too long for the synthesis device; split it into shorter sentences.", err)
	}
	return err
}
