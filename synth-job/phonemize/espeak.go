package phonemize

// #cgo LDFLAGS: -lespeak-ng
// #include <stdlib.h>
// #include <espeak-ng/speak_lib.h>
//
// // next_clause phonemises one clause starting at *pos and advances *pos,
// // which becomes NULL after the last clause. Go may not hold a C pointer
// // into its own memory across the call, so the text lives in C memory.
// static const char *next_clause(const char **pos) {
//   return espeak_TextToPhonemes((const void **)pos, espeakCHARS_UTF8, espeakPHONEMES_IPA);
// }
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// espeak-ng keeps its state (current voice, dictionaries, a static output
// buffer) in process globals and is not thread-safe: concurrent calls corrupt
// each other's output. Every call into it holds espeakMu.
var (
	espeakMu       sync.Mutex
	espeakInitDone bool
	espeakInitErr  error
	espeakVoice    string
)

// ErrUnknownVoice reports an espeak-ng voice name that espeak-ng does not know.
var ErrUnknownVoice = errors.New("unknown espeak-ng voice")

// ensureInit initialises espeak-ng once. Callers hold espeakMu.
func ensureInit() error {
	if espeakInitDone {
		return espeakInitErr
	}
	espeakInitDone = true
	// AUDIO_OUTPUT_SYNCHRONOUS with no callback: we only ask for phonemes.
	if rate := C.espeak_Initialize(C.AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, 0); rate <= 0 {
		espeakInitErr = fmt.Errorf("espeak_Initialize failed (%d): is espeak-ng-data installed?", int(rate))
	}
	return espeakInitErr
}

// rawClause is one clause as espeak-ng returned it, with the text it consumed.
type rawClause struct {
	ipa      string // IPA, words separated by spaces
	consumed string // the input text this clause came from
}

// espeakClauses runs espeak-ng over text with the given voice and returns the
// clauses. It holds the process-wide espeak-ng lock for the whole text so the
// voice cannot change underneath it.
func espeakClauses(voice, text string) ([]rawClause, error) {
	if strings.IndexByte(text, 0) >= 0 {
		return nil, errors.New("text contains a NUL byte")
	}
	espeakMu.Lock()
	defer espeakMu.Unlock()
	if err := ensureInit(); err != nil {
		return nil, err
	}
	if voice != espeakVoice {
		cv := C.CString(voice)
		rc := C.espeak_SetVoiceByName(cv)
		C.free(unsafe.Pointer(cv))
		if rc != C.EE_OK {
			return nil, fmt.Errorf("%w: %q", ErrUnknownVoice, voice)
		}
		espeakVoice = voice
	}

	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	start := uintptr(unsafe.Pointer(ctext))
	end := start + uintptr(len(text))
	pos := ctext
	var out []rawClause
	for pos != nil {
		from := uintptr(unsafe.Pointer(pos))
		ph := C.next_clause(&pos)
		to := end
		if pos != nil {
			to = uintptr(unsafe.Pointer(pos))
		}
		// espeak-ng advances one character past the clause terminator; clamp
		// defensively so a surprise never slices out of range.
		lo, hi := int(from-start), int(to-start)
		lo = min(max(lo, 0), len(text))
		hi = min(max(hi, lo), len(text))
		var ipa string
		if ph != nil {
			ipa = C.GoString(ph)
		}
		out = append(out, rawClause{ipa: ipa, consumed: text[lo:hi]})
	}
	return out, nil
}
