package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chorus-voice/chorus/synth-job/engine"
	"github.com/chorus-voice/chorus/synth-job/onnxpb"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// The sherpa section compares Chorus's engine with sherpa-onnx (k2-fsa's
// C++ runtime for Piper voices, driven through its Node.js addon by
// scripts/sherpa/driver.js) on the same voice and texts, the two
// interleaved in one run: the time to load the voice, resident memory
// after loading it and at peak (RSS minus RSS before loading, for both),
// the time of a paragraph and of mixed sentences at one and two threads,
// and the output, sentence by sentence.
//
// sherpa needs its Piper metadata in the model and a tokens.txt, made here
// from the voice's config as sherpa's scripts/piper/add_meta_data.py makes
// them. Two traps of its API: a noise scale of 0 is replaced by its
// default (both sides run with noise 1e-6, as good as off), and generate
// shortens silences unless silenceScale is 1 (the driver sets it).

// sherpaNoise is the noise scale (and noise_w) both engines run with.
const sherpaNoise = 1e-6

// paragraph and mixed sentences are what the section times; compared are
// the sentences whose phoneme ids both front-ends make alike (plain words).
var compared = []string{
	"Hello everyone, thank you for coming tonight.",
	"We practised every single day for this show.",
	"Are you ready?",
	"Please take care on the way home.",
	"This next song is about home.",
	"Water, snacks and merchandise are on the left side of the hall.",
}

// sherpaDriver is one running driver: one voice at one thread count.
type sherpaDriver struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	// load and loadCPU are the wall and CPU time the voice took to load.
	load, loadCPU time.Duration
	// rssBefore and rssAfter are the driver's RSS before and after it
	// loaded the voice, in bytes.
	rssBefore, rssAfter int64
}

func startSherpa(ctx context.Context, o *options, dir string, threads int) (*sherpaDriver, error) {
	cfg, err := json.Marshal(map[string]any{
		"model": filepath.Join(dir, "model.onnx"), "tokens": filepath.Join(dir, "tokens.txt"),
		"dataDir": o.espeakData, "threads": threads,
		"noiseScale": sherpaNoise, "noiseScaleW": sherpaNoise, "lengthScale": 1,
	})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", o.sherpaDriver, string(cfg))
	cmd.Env = append(os.Environ(), "NODE_PATH="+o.sherpaModules)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the sherpa-onnx driver: %w", err)
	}
	d := &sherpaDriver{cmd: cmd, in: in, out: bufio.NewScanner(stdout)}
	var ready struct {
		Ready     bool    `json:"ready"`
		LoadMS    float64 `json:"load_ms"`
		LoadCPUMS float64 `json:"load_cpu_ms"`
		RSSBefore int64   `json:"rss_before"`
		RSSAfter  int64   `json:"rss_after"`
	}
	if err := d.read(&ready); err != nil || !ready.Ready {
		d.close()
		return nil, fmt.Errorf("sherpa-onnx did not load the voice: %v", err)
	}
	d.load = time.Duration(ready.LoadMS * float64(time.Millisecond))
	d.loadCPU = time.Duration(ready.LoadCPUMS * float64(time.Millisecond))
	d.rssBefore, d.rssAfter = ready.RSSBefore, ready.RSSAfter
	return d, nil
}

func (d *sherpaDriver) read(v any) error {
	if !d.out.Scan() {
		if err := d.out.Err(); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	}
	return json.Unmarshal(d.out.Bytes(), v)
}

func (d *sherpaDriver) call(req map[string]any, resp any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return err
	}
	return d.read(resp)
}

// generate speaks text and returns the time sherpa took (measured in the
// driver) and, with keep, the samples.
func (d *sherpaDriver) generate(text, scratch string, keep bool) (time.Duration, []float32, error) {
	req := map[string]any{"text": text}
	if keep {
		req["out"] = scratch
	}
	var resp struct {
		MS      float64 `json:"ms"`
		Samples int     `json:"samples"`
	}
	if err := d.call(req, &resp); err != nil {
		return 0, nil, fmt.Errorf("sherpa-onnx generate: %w", err)
	}
	took := time.Duration(resp.MS * float64(time.Millisecond))
	if !keep {
		return took, nil, nil
	}
	raw, err := os.ReadFile(scratch)
	if err != nil {
		return 0, nil, err
	}
	x := make([]float32, len(raw)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return took, x, nil
}

// generateTimed speaks text and returns the time sherpa took and the
// seconds of audio it made.
func (d *sherpaDriver) generateTimed(text string) (time.Duration, float64, error) {
	var resp struct {
		MS      float64 `json:"ms"`
		Samples int     `json:"samples"`
		Rate    int     `json:"rate"`
	}
	if err := d.call(map[string]any{"text": text}, &resp); err != nil {
		return 0, 0, fmt.Errorf("sherpa-onnx generate: %w", err)
	}
	return time.Duration(resp.MS * float64(time.Millisecond)), float64(resp.Samples) / float64(max(resp.Rate, 1)), nil
}

func (d *sherpaDriver) peak() (int64, error) {
	var resp struct {
		MaxRSS int64 `json:"max_rss"`
	}
	err := d.call(map[string]any{"peak": true}, &resp)
	return resp.MaxRSS, err
}

func (d *sherpaDriver) close() {
	d.in.Close()
	_ = d.cmd.Wait()
}

// writeSherpaVoice writes the voice's model as exported, with sherpa's
// Piper metadata, and its tokens.txt into dir.
func writeSherpaVoice(v *voice.Voice, dir string) error {
	model, err := os.ReadFile(v.ModelPath)
	if err != nil {
		return err
	}
	c := v.Config
	model = onnxpb.AddMetadata(model, map[string]string{
		"model_type": "vits", "comment": "piper", "language": "English", "voice": c.Espeak.Voice,
		"version": "1", "has_espeak": "1", "has_g2pw": "0",
		"n_speakers": strconv.Itoa(c.NumSpeakers), "sample_rate": strconv.Itoa(c.Audio.SampleRate),
	})
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644); err != nil {
		return err
	}
	var tokens strings.Builder
	for _, sym := range slices.Sorted(maps.Keys(c.PhonemeIDMap)) {
		if sym == "\n" {
			continue
		}
		fmt.Fprintf(&tokens, "%s %d\n", sym, c.PhonemeIDMap[sym][0])
	}
	return os.WriteFile(filepath.Join(dir, "tokens.txt"), []byte(tokens.String()), 0o644)
}

// chorusSide is Chorus's engine at one thread count, measured like the
// driver: load time and RSS around loading the voice.
type chorusSide struct {
	e                   *engine.Engine
	load, loadCPU       time.Duration
	rssBefore, rssAfter int64 // bytes
}

func (b *bench) startChorus(ctx context.Context, v *voice.Voice, threads int) (*chorusSide, error) {
	e, err := engine.New(engine.Options{LibraryPath: b.o.ortLib, Provider: engine.ProviderCPU, IntraOpThreads: threads,
		SessionCache: 1, Logger: b.log})
	if err != nil {
		return nil, err
	}
	resetPeakRSS()
	before, err := vmRSS()
	if err != nil {
		e.Close()
		return nil, err
	}
	t, cpu := time.Now(), cpuTime()
	if err := e.Preload(ctx, v); err != nil {
		e.Close()
		return nil, err
	}
	load, loadCPU := time.Since(t), cpuTime()-cpu
	after, err := vmRSS()
	if err != nil {
		e.Close()
		return nil, err
	}
	return &chorusSide{e: e, load: load, loadCPU: loadCPU, rssBefore: before << 10, rssAfter: after << 10}, nil
}

// sherpa is the sherpa section.
func (b *bench) sherpa(ctx context.Context) error {
	if b.o.sherpaModules == "" {
		return errors.New("-sherpa-modules is not set (scripts/sherpa/setup.sh prints it)")
	}
	dir, err := os.MkdirTemp("", "enginebench-sherpa-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeSherpaVoice(b.v, dir); err != nil {
		return err
	}
	cfg := *b.v.Config
	cfg.Inference.NoiseScale, cfg.Inference.NoiseW = sherpaNoise, sherpaNoise
	qv := *b.v
	qv.Config = &cfg
	v := &qv
	scratch := filepath.Join(dir, "samples.f32")

	// Mixed sentences both front-ends read alike: Chorus's normaliser
	// reads "$49.95" and "Mr." its own way, which would time other audio.
	var plain []string
	for _, s := range sentences {
		if !strings.ContainsAny(s, "$%0123456789") && !strings.Contains(s, "Mr.") {
			plain = append(plain, s)
		}
	}
	var mixed []string
	for i := range 20 {
		mixed = append(mixed, plain[i%len(plain)])
	}
	fmt.Printf("\n| sherpa-onnx 1.13.8 beside Chorus (%s), same texts, interleaved | Chorus | sherpa-onnx | Chorus ÷ sherpa |\n|---|---|---|---|\n", v.Name)
	for _, threads := range []int{1, 2} {
		// Chorus first: its RSS is measured in this process, before the
		// driver runs beside it.
		ch, err := b.startChorus(ctx, v, threads)
		if err != nil {
			return err
		}
		sh, err := startSherpa(ctx, b.o, dir, threads)
		if err != nil {
			ch.e.Close()
			return err
		}
		err = b.compareSherpa(ctx, v, ch, sh, threads, mixed, scratch)
		sh.close()
		ch.e.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) compareSherpa(ctx context.Context, v *voice.Voice, ch *chorusSide, sh *sherpaDriver, threads int, mixed []string, scratch string) error {
	row := func(what string, c, s float64, unit string) {
		fmt.Printf("| %s | %.3g %s | %.3g %s | %.2f |\n", what, c, unit, s, unit, c/s)
		b.record("sherpa", map[string]any{"what": what, "threads": threads, "chorus": c, "sherpa": s, "unit": unit, "ratio": c / s})
	}
	row(fmt.Sprintf("%d thread(s): load the voice", threads), ch.load.Seconds(), sh.load.Seconds(), "s")
	row(fmt.Sprintf("%d thread(s): load the voice, CPU time (less disturbed by other load on the machine)", threads),
		ch.loadCPU.Seconds(), sh.loadCPU.Seconds(), "s")
	// Memory is compared in the first configuration only: later ones
	// would start from what the process kept of the earlier ones.
	first := threads == 1
	if first {
		row(fmt.Sprintf("%d thread(s): RSS after load − before", threads), mib(ch.rssAfter-ch.rssBefore), mib(sh.rssAfter-sh.rssBefore), "MiB")
	}

	// The output, sentence by sentence: Chorus's levelled samples brought
	// back by its one gain (the bench voice needs no limiter) beside
	// sherpa's, in 16-bit steps.
	worst, same := 0.0, 0
	for _, text := range compared {
		res, err := ch.e.Synthesize(ctx, v, []engine.Request{{Text: text}})
		if err != nil {
			return err
		}
		r := res[0]
		if r.Err != nil {
			return r.Err
		}
		_, want, err := sh.generate(text, scratch, true)
		if err != nil {
			return err
		}
		if len(want) != len(r.Samples) || r.Level.Reduction != 0 {
			continue // other ids (front-ends differ), or limited
		}
		same++
		g := float32(r.Level.Gain)
		for i, x := range r.Samples {
			worst = max(worst, math.Abs(float64(x/g-want[i]))*32768)
		}
	}
	fmt.Printf("| %d thread(s): output, %d of %d sentences of equal length | max difference %.2f LSB (16-bit) | | |\n",
		threads, same, len(compared), worst)
	b.record("sherpa_output", map[string]any{"threads": threads, "compared": same, "of": len(compared), "max_lsb": worst})

	// Time: warm both, then time them taking turns.
	for _, text := range []string{paragraph, mixed[0], mixed[1]} {
		if _, err := synth(ctx, ch.e, v, []engine.Request{{Text: text}}); err != nil {
			return err
		}
		if _, _, err := sh.generate(text, "", false); err != nil {
			return err
		}
	}
	for _, w := range []struct {
		name  string
		texts []string
	}{{"paragraph", []string{paragraph}}, {fmt.Sprintf("%d mixed sentences, one call each", len(mixed)), mixed}} {
		var chorus, sherpa time.Duration
		var chorusAudio, sherpaAudio float64
		rounds := 3
		// Text by text, the two take turns going first: drifts in the
		// machine's load fall on both alike.
		for r := range rounds {
			for i, text := range w.texts {
				for k := range 2 {
					if (r+i+k)%2 == 0 {
						t := time.Now()
						secs, err := synth(ctx, ch.e, v, []engine.Request{{Text: text}})
						if err != nil {
							return err
						}
						chorus += time.Since(t)
						chorusAudio += secs
						continue
					}
					took, secs, err := sh.generateTimed(text)
					if err != nil {
						return err
					}
					sherpa += took
					sherpaAudio += secs
				}
			}
		}
		row(fmt.Sprintf("%d thread(s): %s (%.1f s of audio; sherpa-onnx %.1f s, without Chorus's 0.2 s between sentences)",
			threads, w.name, chorusAudio/float64(rounds), sherpaAudio/float64(rounds)),
			chorus.Seconds()/float64(rounds), sherpa.Seconds()/float64(rounds), "s")
	}
	if !first {
		return nil
	}
	chPeak, err := peakRSS()
	if err != nil {
		return err
	}
	shPeak, err := sh.peak()
	if err != nil {
		return err
	}
	{
		row(fmt.Sprintf("%d thread(s): peak RSS − before load", threads), mib(chPeak-ch.rssBefore), mib(shPeak-sh.rssBefore), "MiB")
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the process's RSS high-water mark (Linux ≥ 4.0:
// writing 5 to /proc/self/clear_refs), so that peakRSS measures from here.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's RSS high-water mark (VmHWM) in bytes.
func peakRSS() (int64, error) {
	kib, err := statusKiB("VmHWM:")
	return kib << 10, err
}
