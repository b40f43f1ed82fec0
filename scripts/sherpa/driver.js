// Drives sherpa-onnx (sherpa-onnx-node) for enginebench's comparison: it
// loads one Piper voice and answers one JSON request per line on stdin
// with one JSON line on stdout, so that the benchmark can interleave its
// runs with Chorus's in one process tree.
//
//   NODE_PATH=$(scripts/sherpa/setup.sh) node scripts/sherpa/driver.js CONFIG_JSON
//
// CONFIG_JSON: {"model","tokens","dataDir","threads","noiseScale","noiseScaleW","lengthScale"}.
// First line out: {"ready":true,"load_ms","load_cpu_ms","rss_before","rss_after"}
// (the time and the CPU time the load took; RSS in bytes).
// Requests: {"text":"…","out":"file"?} → {"ms","samples","rate"}; with
// "out", the samples are written there as little-endian float32.
// {"peak":true} → {"max_rss"} (bytes, the process's high-water mark).
'use strict';
const fs = require('fs');
const readline = require('readline');

const cfg = JSON.parse(process.argv[2]);
const sherpa = require('sherpa-onnx-node');

const rssBefore = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const tts = new sherpa.OfflineTts({
  model: {
    vits: {
      model: cfg.model,
      tokens: cfg.tokens,
      dataDir: cfg.dataDir,
      noiseScale: cfg.noiseScale,
      noiseScaleW: cfg.noiseScaleW,
      lengthScale: cfg.lengthScale,
    },
    numThreads: cfg.threads,
    provider: 'cpu',
    debug: false,
  },
  maxNumSentences: 1,
  // generate() shortens silences unless this is 1.
  silenceScale: 1,
});
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
const cpu = process.cpuUsage(cpu0);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
out({ready: true, load_ms: loadMs, load_cpu_ms: (cpu.user + cpu.system) / 1000,
  rss_before: rssBefore, rss_after: process.memoryUsage().rss});

const rl = readline.createInterface({input: process.stdin});
rl.on('line', (line) => {
  const req = JSON.parse(line);
  if (req.peak) {
    out({max_rss: process.resourceUsage().maxRSS * 1024});
    return;
  }
  const generationConfig = new sherpa.GenerationConfig({sid: 0, speed: 1.0, silenceScale: 1});
  const t = process.hrtime.bigint();
  const audio = tts.generate({text: req.text, generationConfig});
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (req.out) {
    const s = audio.samples;
    fs.writeFileSync(req.out, Buffer.from(s.buffer, s.byteOffset, s.byteLength));
  }
  out({ms, samples: audio.samples.length, rate: audio.sampleRate});
});
