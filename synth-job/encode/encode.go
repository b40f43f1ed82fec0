// Package encode turns the engine's levelled float samples into the
// formats Chorus stores, through one entry point (Encode): 16-bit PCM WAV
// (synth-job/wav), Opus in an Ogg container (RFC 7845, libopus
// through libopusenc, which writes the Ogg pages, the pre-skip and the
// granule positions that trim the decoded stream to exactly the input's
// length) after resampling to Opus's 48 kHz with libsoxr (very high
// quality), and MP3 (LAME, VBR, with the LAME/Xing tag that gives players
// the duration and the encoder delay). It uses cgo and is linked by the
// synth-job binary only; the worker package reaches it through
// worker.Synth.
//
// Build needs libopusenc-dev, libsoxr-dev and libmp3lame-dev (Debian and
// Ubuntu names, scripts/setup-system.sh installs them); the runtime needs
// libopusenc0, libopus0, libsoxr0 and libmp3lame0 (synth-job/Dockerfile).
package encode

// #cgo CFLAGS: -I/usr/include/opus
// #cgo LDFLAGS: -lopusenc -lopus -lsoxr -lmp3lame -lm
// #include <stdlib.h>
// #include <string.h>
// #include <opusenc.h>
// #include <soxr.h>
// #include <lame/lame.h>
//
// // chorus_buf is an output buffer in C memory that grows as it is written.
// typedef struct { unsigned char *data; size_t len, cap; int failed; } chorus_buf;
//
// static int chorus_buf_reserve(chorus_buf *b, size_t more) {
//   if (b->len + more <= b->cap) return 0;
//   size_t c = b->cap ? b->cap : 16384;
//   while (c < b->len + more) c *= 2;
//   unsigned char *d = realloc(b->data, c);
//   if (!d) { b->failed = 1; return -1; }
//   b->data = d; b->cap = c;
//   return 0;
// }
//
// static int chorus_buf_write(void *user, const unsigned char *ptr, opus_int32 len) {
//   chorus_buf *b = user;
//   if (chorus_buf_reserve(b, (size_t)len)) return 1;
//   memcpy(b->data + b->len, ptr, (size_t)len);
//   b->len += (size_t)len;
//   return 0;
// }
//
// static int chorus_buf_close(void *user) { (void)user; return 0; }
//
// // chorus_opus encodes n mono float samples at 48 kHz as Ogg Opus into b.
// // It returns OPE_OK or a libopusenc error.
// static int chorus_opus(const float *pcm, int n, int bitrate, chorus_buf *b) {
//   OpusEncCallbacks cb = { chorus_buf_write, chorus_buf_close };
//   int err = OPE_OK;
//   OggOpusComments *c = ope_comments_create();
//   if (!c) return OPE_ALLOC_FAIL;
//   OggOpusEnc *e = ope_encoder_create_callbacks(&cb, b, c, 48000, 1, 0, &err);
//   if (!e) { ope_comments_destroy(c); return err ? err : OPE_ALLOC_FAIL; }
//   err = ope_encoder_ctl(e, OPE_SET_SERIALNO(0x43686f72)); /* "Chor": the same input, the same file */
//   if (err == OPE_OK) err = ope_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
//   if (err == OPE_OK) err = ope_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
//   if (err == OPE_OK) err = ope_encoder_write_float(e, pcm, n);
//   if (err == OPE_OK) err = ope_encoder_drain(e);
//   ope_encoder_destroy(e);
//   ope_comments_destroy(c);
//   if (err == OPE_OK && b->failed) err = OPE_ALLOC_FAIL;
//   return err;
// }
//
// // chorus_resample resamples n mono float samples from in_rate to
// // out_rate into out (olen samples), very high quality; *done is how many
// // were written. It returns NULL or soxr's error message.
// static const char *chorus_resample(const float *in, size_t n, double in_rate, double out_rate,
//                                    float *out, size_t olen, size_t *done) {
//   soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
//   soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
//   return soxr_oneshot(in_rate, out_rate, 1, in, n, NULL, out, olen, done, &io, &q, NULL);
// }
//
// // chorus_mp3 encodes n mono float samples at rate (an MP3 rate) into b:
// // LAME VBR at quality q (0 best … 9), the LAME tag written over the
// // first frame. It returns 0, or a negative LAME error.
// static int chorus_mp3(const float *pcm, int n, int rate, int q, chorus_buf *b) {
//   lame_global_flags *l = lame_init();
//   if (!l) return -100;
//   lame_set_num_channels(l, 1);
//   lame_set_mode(l, MONO);
//   lame_set_in_samplerate(l, rate);
//   lame_set_out_samplerate(l, rate);
//   lame_set_VBR(l, vbr_default);
//   lame_set_VBR_quality(l, (float)q);
//   lame_set_bWriteVbrTag(l, 1);
//   int rc = lame_init_params(l);
//   if (rc < 0) { lame_close(l); return rc; }
//   size_t need = (size_t)n * 5 / 4 + 7200; /* LAME's worst case */
//   if (chorus_buf_reserve(b, need)) { lame_close(l); return -101; }
//   rc = lame_encode_buffer_ieee_float(l, pcm, NULL, n, b->data, (int)need);
//   if (rc < 0) { lame_close(l); return rc; }
//   b->len = (size_t)rc;
//   if (chorus_buf_reserve(b, 7200)) { lame_close(l); return -101; }
//   rc = lame_encode_flush(l, b->data + b->len, 7200);
//   if (rc < 0) { lame_close(l); return rc; }
//   b->len += (size_t)rc;
//   unsigned char tag[2880];
//   size_t tn = lame_get_lametag_frame(l, tag, sizeof tag);
//   if (tn > 0 && tn <= sizeof tag && tn <= b->len) memcpy(b->data, tag, tn);
//   lame_close(l);
//   return 0;
// }
import "C"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

// ErrFormat means a format Chorus does not make.
var ErrFormat = errors.New("encode: unknown audio format")

// Encode returns mono samples at rate (floats in [-1, 1], as the engine
// levels them) as a file of format (job.FormatWAV, job.FormatOpus or
// job.FormatMP3) and the sample rate the file is stored at: the input's
// for WAV and MP3 where MP3 carries it (MP3Rate), OpusRate for Opus.
// Every format decodes to exactly as many seconds as the input.
func Encode(format string, samples []float32, rate int) (data []byte, storedRate int, err error) {
	switch format {
	case job.FormatWAV:
		data, err = wav.Encode(samples, rate)
		return data, rate, err
	case job.FormatOpus:
		data, err = Opus(samples, rate)
		return data, OpusRate, err
	case job.FormatMP3:
		data, err = MP3(samples, rate)
		return data, MP3Rate(rate), err
	}
	return nil, 0, fmt.Errorf("%w %q (want %s, %s or %s)", ErrFormat, format, job.FormatWAV, job.FormatOpus, job.FormatMP3)
}

// Settings of the encoders: speech, mono.
const (
	// OpusRate is the rate Opus always runs at.
	OpusRate = 48000
	// OpusBitrate is the target of Opus's VBR, in bit/s: transparent for
	// mono speech.
	OpusBitrate = 32000
	// MP3Quality is LAME's VBR quality (-V, 0 best … 9 smallest): about
	// 40–64 kbit/s for mono speech at 16–24 kHz.
	MP3Quality = 4
)

// mp3Rates are the sample rates MPEG-1, 2 and 2.5 Layer III can carry.
var mp3Rates = []int{8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}

// MP3Rate is the rate an MP3 of audio at rate is stored at: the rate
// itself when MP3 can carry it (all Piper voices: 16 and 22.05 kHz), else
// the next higher one (48 kHz above all).
func MP3Rate(rate int) int {
	for _, r := range mp3Rates {
		if r >= rate {
			return r
		}
	}
	return 48000
}

var (
	errNoRate  = errors.New("encode: the sample rate must be positive")
	errNoAudio = errors.New("encode: no samples to encode")
)

// Opus returns an Ogg Opus file of mono samples at rate: resampled to
// 48 kHz (libsoxr, very high quality) and encoded at OpusBitrate. Decoded,
// it is exactly as long as the input.
func Opus(pcm []float32, rate int) ([]byte, error) {
	switch {
	case rate <= 0:
		return nil, errNoRate
	case len(pcm) == 0: // libopusenc cannot drain a stream it never started
		return nil, errNoAudio
	}
	f, err := resample(pcm, rate, OpusRate)
	if err != nil {
		return nil, err
	}
	var b C.chorus_buf
	defer C.free(unsafe.Pointer(b.data))
	if rc := C.chorus_opus(floatPtr(f), C.int(len(f)), C.int(OpusBitrate), &b); rc != C.OPE_OK {
		return nil, fmt.Errorf("encode: opus: %s", C.GoString(C.ope_strerror(rc)))
	}
	return C.GoBytes(unsafe.Pointer(b.data), C.int(b.len)), nil
}

// MP3 returns an MP3 of mono samples at rate, stored at MP3Rate(rate)
// (resampled with libsoxr when that differs), LAME VBR at MP3Quality, with
// a LAME tag.
func MP3(pcm []float32, rate int) ([]byte, error) {
	switch {
	case rate <= 0:
		return nil, errNoRate
	case len(pcm) == 0:
		return nil, errNoAudio
	}
	out := MP3Rate(rate)
	f, err := resample(pcm, rate, out)
	if err != nil {
		return nil, err
	}
	var b C.chorus_buf
	defer C.free(unsafe.Pointer(b.data))
	if rc := C.chorus_mp3(floatPtr(f), C.int(len(f)), C.int(out), C.int(MP3Quality), &b); rc != 0 {
		return nil, fmt.Errorf("encode: mp3: LAME error %d", int(rc))
	}
	return C.GoBytes(unsafe.Pointer(b.data), C.int(b.len)), nil
}

// resample returns x at rate to (x itself when the rates agree).
func resample(x []float32, from, to int) ([]float32, error) {
	if from == to || len(x) == 0 {
		return x, nil
	}
	want := int(math.Round(float64(len(x)) * float64(to) / float64(from)))
	out := make([]float32, want+64)
	var done C.size_t
	if msg := C.chorus_resample(floatPtr(x), C.size_t(len(x)), C.double(from), C.double(to),
		floatPtr(out), C.size_t(len(out)), &done); msg != nil {
		return nil, fmt.Errorf("encode: resample %d → %d Hz: %s", from, to, C.GoString(msg))
	}
	return slices.Clip(out[:min(int(done), want)]), nil
}

// floatPtr points C at x's first element (nil for an empty slice). C does
// not keep it past the call.
func floatPtr(x []float32) *C.float {
	if len(x) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&x[0]))
}
