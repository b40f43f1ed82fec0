package demovoice

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/voice"
	"github.com/chorus-voice/chorus/synth-job/wav"
)

// speechSentences are the sentences of TestDemoVoiceSpeaks: fixed, varied,
// 4 to 15 words.
var speechSentences = []string{
	"The cat sat on the mat.",
	"Please bring me a glass of cold water.",
	"We are going to the beach tomorrow morning.",
	"My brother plays the guitar every evening after dinner.",
	"Turn left at the second traffic light.",
	"She bought three apples and a loaf of bread.",
	"The meeting has been moved to Thursday afternoon.",
	"Do you know where the nearest train station is?",
	"It rained all night, so the roads are still wet.",
	"Reading books is a wonderful way to relax.",
	"The children built a huge castle out of sand.",
	"Could you speak a little more slowly, please?",
	"Our flight leaves at half past seven.",
	"The garden is full of red and yellow flowers.",
	"He forgot his umbrella on the bus again.",
	"Fresh coffee smells better than anything else in the world.",
	"The old bridge was closed for repairs last summer.",
	"I would like to order a large vegetable pizza.",
	"Music makes every long journey feel much shorter.",
	"The library opens at nine on weekdays.",
	"Thank you very much for your kind help.",
	"A small dog was barking at the mailman.",
	"The mountain air was cool and very clean.",
	"Tomorrow we will paint the kitchen walls blue.",
	"Nobody expected the final score to be so close.",
	"Write your name at the top of the page.",
	"The museum has a famous collection of ancient coins.",
	"Birds were singing loudly in the tall trees.",
	"He runs five miles before breakfast every day.",
	"The soup needs a little more salt and pepper.",
	"Where did you put the keys to the car?",
	"Winter nights are long and dark in the north.",
	"The teacher asked everyone to open their books.",
	"Our neighbours are moving to a new city next month.",
	"Please remember to switch off the lights when you leave.",
	"The river flows slowly through the quiet valley.",
	"She painted a picture of the harbour at sunset.",
	"Good morning, everyone.",
	"The computer restarted in the middle of my work.",
	"Many people enjoy walking in the park on Sundays.",
	"That movie was much funnier than I expected.",
	"The baker sells warm bread early in the morning.",
	"Keep the door closed so the cat stays inside.",
	"We watched the stars from the roof of the house.",
	"The package should arrive by Friday at the latest.",
	"Learning a new language takes time and patience.",
	"The wind blew the leaves across the empty street.",
	"Grandmother tells the best stories about her childhood.",
	"Lunch is ready, so wash your hands.",
	"The orchestra played a beautiful song at the end of the concert.",
}

// espeakSay renders text with espeak-ng's own voice.
func espeakSay(t *testing.T, voiceName, text string) ([]float32, int) {
	t.Helper()
	out, err := exec.Command("espeak-ng", "-v", voiceName, "--stdout", text).Output()
	if err != nil {
		t.Fatalf("espeak-ng %q: %v", text, err)
	}
	x, rate, err := decodeWAV(out)
	if err != nil {
		t.Fatalf("espeak-ng %q: %v", text, err)
	}
	return x, rate
}

// resample converts x from rate `from` to rate `to` (linear interpolation;
// the MFCCs look at the band both rates share).
func resample(x []float32, from, to int) []float32 {
	if from == to {
		return x
	}
	n := int(int64(len(x)) * int64(to) / int64(from))
	out := make([]float32, n)
	for i := range out {
		p := float64(i) * float64(from) / float64(to)
		j := int(p)
		f := float32(p - float64(j))
		a := x[min(j, len(x)-1)]
		b := x[min(j+1, len(x)-1)]
		out[i] = a + f*(b-a)
	}
	return out
}

// trimSilence drops leading and trailing samples below 2 % of the peak.
func trimSilence(x []float32) []float32 {
	var peak float32
	for _, v := range x {
		peak = max(peak, v, -v)
	}
	thr := 0.02 * peak
	lo, hi := 0, len(x)
	for lo < hi && x[lo] < thr && x[lo] > -thr {
		lo++
	}
	for hi > lo && x[hi-1] < thr && x[hi-1] > -thr {
		hi--
	}
	return x[lo:hi]
}

// features returns the mean-normalised MFCCs of x (cepstral mean
// normalisation takes out the difference of voice and level, leaving what
// is said).
func features(x []float32, rate int) [][]float64 {
	c := mfcc(trimSilence(resample(x, rate, SampleRate)), SampleRate)
	mean := make([]float64, mfccCoeffs)
	for _, f := range c {
		for k, v := range f {
			mean[k] += v / float64(len(c))
		}
	}
	for _, f := range c {
		for k := range f {
			f[k] -= mean[k]
		}
	}
	return c
}

// koreanSentences are the sentences of TestKoreanDemoVoiceSpeaks.
var koreanSentences = []string{
	"안녕하세요, 반갑습니다.", "오늘 날씨가 정말 좋네요.", "저는 학교에 갑니다.",
	"한국어를 공부하고 있어요.", "우리 집에 고양이가 있습니다.", "내일 다시 만나요.",
	"음악을 듣는 것을 좋아해요.", "서울은 아주 큰 도시입니다.", "커피 한 잔 주세요.",
	"친구와 영화를 봤어요.", "토요일에 산에 갔어요.", "바다에서 수영했어요.",
}

// TestDemoVoiceSpeaks checks that the English demo voice says what it is
// given: for each of 50 sentences, the demo voice's audio (through the
// engine and ONNX Runtime) must be closer (MFCC, DTW) to espeak-ng's own
// rendering of the same sentence than to its rendering of a different
// sentence of similar duration, in at least 45 cases.
func TestDemoVoiceSpeaks(t *testing.T) {
	// Speaker "ben" is cut from espeak-ng's plain en-us voice, the one the
	// references use.
	if correct := speechScore(t, English(), 1, speechSentences); correct < 45 {
		t.Errorf("closer to the same sentence in %d of %d cases, want at least 45", correct, len(speechSentences))
	}
}

// The same check, smaller, for the Korean demo voice.
func TestKoreanDemoVoiceSpeaks(t *testing.T) {
	if correct := speechScore(t, Korean(), 0, koreanSentences); correct < 11 {
		t.Errorf("closer to the same sentence in %d of %d cases, want at least 11", correct, len(koreanSentences))
	}
}

// speechScore synthesises the sentences with the demo voice o (speaker
// sid) through the engine and counts those whose audio is closer to
// espeak-ng's rendering of the same sentence than to its rendering of the
// other sentence closest in duration (which must be within 20 %).
func speechScore(t *testing.T, o Options, sid int, sentences []string) int {
	t.Helper()
	lib := needORT(t)
	needEspeak(t)
	e, err := engine.New(engine.Options{LibraryPath: lib, Provider: engine.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	model, cfgJSON := build(t, o)
	path := filepath.Join(t.TempDir(), "demo.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".json", cfgJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := voice.Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]engine.Request, len(sentences))
	for i, s := range sentences {
		reqs[i] = engine.Request{Text: s, SpeakerID: sid}
	}
	res, err := e.Synthesize(context.Background(), v, reqs)
	if err != nil {
		t.Fatal(err)
	}
	var demoSecs, refSecs float64
	demo := make([][][]float64, len(res))
	ref := make([][][]float64, len(res))
	dump := os.Getenv("CHORUS_DEMOVOICE_DUMP") // a folder: keep the WAVs to listen to
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("%q: %v", sentences[i], r.Err)
		}
		file, err := wav.Encode(r.Samples, r.SampleRate)
		if err != nil {
			t.Fatal(err)
		}
		a, err := wav.Decode(file)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, len(a.Samples))
		for j, s := range a.Samples {
			x[j] = float32(s) / 32768
		}
		demo[i] = features(x, a.SampleRate)
		demoSecs += float64(len(x)) / float64(a.SampleRate)
		y, rate := espeakSay(t, o.EspeakVoice, sentences[i])
		refSecs += float64(len(trimSilence(y))) / float64(rate)
		ref[i] = features(y, rate)
		if dump != "" {
			name := fmt.Sprintf("%s-%02d.wav", o.EspeakVoice, i)
			if err := os.WriteFile(filepath.Join(dump, name), file, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	correct := 0
	var ratios float64
	for i := range sentences {
		n := func(j int) float64 { return float64(len(ref[j])) }
		other := -1
		for j := range sentences {
			if j != i && (other < 0 || math.Abs(n(j)-n(i)) < math.Abs(n(other)-n(i))) {
				other = j
			}
		}
		if math.Abs(n(other)-n(i)) > 0.2*n(i) {
			t.Fatalf("no sentence within 20 %% of the duration of %q", sentences[i])
		}
		same, diff := dtw(demo[i], ref[i]), dtw(demo[i], ref[other])
		ratios += same / diff
		if same < diff {
			correct++
		} else {
			t.Logf("closer to the other sentence: %q (%.2f) vs %q (%.2f)", sentences[i], same, sentences[other], diff)
		}
	}
	t.Logf("%s: closer to espeak-ng's same sentence in %d of %d cases (mean distance ratio same/different %.3f); "+
		"the demo audio lasts %.2f× espeak-ng's", o.Label, correct, len(sentences), ratios/float64(len(sentences)), demoSecs/refSecs)
	return correct
}

func TestResample(t *testing.T) {
	// 100 Hz at 44.1 kHz → 22.05 kHz: half the samples, the same wave.
	x := make([]float32, 4410)
	for i := range x {
		x[i] = float32(math.Sin(2 * math.Pi * 100 * float64(i) / 44100))
	}
	y := resample(x, 44100, 22050)
	if len(y) != 2205 {
		t.Fatalf("%d samples, want 2205", len(y))
	}
	for i, v := range y {
		if want := math.Sin(2 * math.Pi * 100 * float64(i) / 22050); math.Abs(float64(v)-want) > 1e-4 {
			t.Fatalf("sample %d = %v, want %v", i, v, want)
		}
	}
	if z := resample(x, 22050, 22050); &z[0] != &x[0] {
		t.Error("same rate should not copy")
	}
}
