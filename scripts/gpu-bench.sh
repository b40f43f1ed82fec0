#!/usr/bin/env bash
# The GPU benchmark, in two steps, because a GPU machine may have no network:
#
#   scripts/gpu-bench.sh prepare DIR [ARCH]   on any machine with npm, Go, gcc and xz
#   scripts/gpu-bench.sh run DIR              on a machine with an NVIDIA GPU
#
# prepare fetches ONNX Runtime 1.29.0 for CUDA 13 from npm — the
# CUDA-enabled core library of onnxruntime-node@1.29.0 and the CUDA and shared
# providers of com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (the same
# build) — and checks each file against the sha256 pinned below. With ARCH
# (e.g. 90 for H100/H200) it zero-fills the CUDA provider's code for every
# other GPU architecture with ../shared/tools/prune-fatbin.py, so that it
# compresses to a sixth; a pruned file no longer matches the published hash,
# so the manifest records both (never ship a pruned library in an image).
# It also builds the benchmark (cgo, espeak-ng), and copies the espeak-ng
# library and its English data, libsonic, a stub libpcaudio (synthesis never
# plays sound; the real one pulls in audio servers) and the bench voice.
# Everything goes into DIR, compressed, with a sha256 manifest.
#
# run needs only DIR and the CUDA 13 runtime libraries (cudart, cuBLAS,
# cuRAND, cuDNN 9; driver ≥ 580). It verifies DIR against its manifest,
# unpacks it, and runs the engine on the bench voice with cuda and cpu side by
# side: short-sentence latency, paragraph RTF, a new sentence length, and
# throughput per run budget and runs in flight, each configuration in a fresh
# process with its peak device memory (nvidia-smi). Without a GPU it says so
# and exits 0. Set BENCH_OUT to keep the results (results.md, results.jsonl),
# BENCH_SWEEP=0 to skip the large budget sweep, BENCH_REQUESTS (512) and
# BENCH_TIMEOUT (180 s per configuration) to size it.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.29.0
CORE_PKG=onnxruntime-node@$ORT_VERSION
CORE_MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
CORE_SHA256=89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d
GPU_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
CUDA_MEMBER=package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so
CUDA_SHA256=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037
SHARED_MEMBER=package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
SHARED_SHA256=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772

log() { echo "gpu-bench: $*" >&2; }
die() { log "$*"; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
usage() { die "usage: $0 prepare DIR [ARCH] | run DIR [all|oom]"; }

verify() { # file want what
	local got
	got=$(sha_of "$1")
	[ "$got" = "$2" ] || die "sha256 of $3: got $got, want $2"
}

prepare() {
	local dir=$1 arch=${2:-}
	command -v npm >/dev/null || die "npm is required"
	command -v xz >/dev/null || die "xz is required"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	local work
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	rm -rf "$dir/lib" "$dir/bin" "$dir/espeak" "$dir/voice" "$dir/MANIFEST"
	mkdir -p "$dir/lib" "$dir/bin" "$dir/espeak/espeak-ng-data" "$dir/voice"

	log "fetching $CORE_PKG and $GPU_PKG from npm (npm verifies each tarball's integrity)"
	(cd "$work" && npm pack --silent "$CORE_PKG" "$GPU_PKG" >/dev/null)
	tar -xzf "$work"/onnxruntime-node-$ORT_VERSION.tgz -C "$work" "$CORE_MEMBER"
	tar -xzf "$work"/com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz -C "$work" "$CUDA_MEMBER" "$SHARED_MEMBER"
	verify "$work/$CORE_MEMBER" "$CORE_SHA256" "libonnxruntime.so.1 of $CORE_PKG"
	verify "$work/$CUDA_MEMBER" "$CUDA_SHA256" "libonnxruntime_providers_cuda.so of $GPU_PKG"
	verify "$work/$SHARED_MEMBER" "$SHARED_SHA256" "libonnxruntime_providers_shared.so of $GPU_PKG"
	{
		echo "# gpu-bench manifest: sha256 of each file as run will use it (after unpacking)"
		echo "# ONNX Runtime $ORT_VERSION: core from $CORE_PKG, providers from $GPU_PKG (published sha256 verified at prepare)"
	} >"$dir/MANIFEST"
	local cuda=$work/$CUDA_MEMBER
	if [ -n "$arch" ]; then
		local tool=../shared/tools/prune-fatbin.py
		[ -f "$tool" ] || die "$tool not found: prepare without ARCH, or run from a checkout with ../shared"
		command -v python3 >/dev/null || die "python3 is required to prune"
		python3 "$tool" "$cuda" "$work/cuda-pruned.so" "$arch" >/dev/null
		cuda=$work/cuda-pruned.so
		echo "# libonnxruntime_providers_cuda.so PRUNED to sm_$arch with prune-fatbin.py (published sha256 $CUDA_SHA256): runs only on that architecture" >>"$dir/MANIFEST"
	fi
	cp "$work/$CORE_MEMBER" "$work/libonnxruntime.so.1"
	cp "$cuda" "$work/libonnxruntime_providers_cuda.so"
	cp "$work/$SHARED_MEMBER" "$work/libonnxruntime_providers_shared.so"
	for f in libonnxruntime.so.1 libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
		echo "$(sha_of "$work/$f")  lib/$f" >>"$dir/MANIFEST"
		xz -T0 -6 -c "$work/$f" >"$dir/lib/$f.xz"
	done

	log "building the benchmark"
	CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o "$work/enginebench" ./synth-job/cmd/enginebench
	echo "$(sha_of "$work/enginebench")  bin/enginebench" >>"$dir/MANIFEST"
	xz -T0 -6 -c "$work/enginebench" >"$dir/bin/enginebench.xz"

	log "copying espeak-ng (library, English data), libsonic and a stub libpcaudio"
	local espeak sonic data
	espeak=$(ldconfig -p | awk '/libespeak-ng.so.1 .*x86-64/ {print $NF; exit}')
	sonic=$(ldconfig -p | awk '/libsonic.so.0 .*x86-64/ {print $NF; exit}')
	[ -n "$espeak" ] && [ -n "$sonic" ] || die "libespeak-ng.so.1 and libsonic.so.0 are required (scripts/setup-system.sh)"
	data=$(dirname "$(readlink -f "$espeak")")/espeak-ng-data
	[ -d "$data" ] || die "espeak-ng data not found beside $espeak"
	cp -L "$espeak" "$dir/espeak/libespeak-ng.so.1"
	cp -L "$sonic" "$dir/espeak/libsonic.so.0"
	cat >"$work/pcaudio.c" <<-'EOF'
		/* Stub libpcaudio: libespeak-ng links it for playback, which synthesis
		 * to memory never uses. Every call fails cleanly. */
		#include <stddef.h>
		struct audio_object;
		struct audio_object *create_audio_device_object(const char *d, const char *a, const char *n) { return NULL; }
		int audio_object_open(struct audio_object *o, int f, unsigned r, unsigned char c) { return -1; }
		void audio_object_close(struct audio_object *o) {}
		void audio_object_destroy(struct audio_object *o) {}
		int audio_object_write(struct audio_object *o, const void *d, size_t n) { return -1; }
		int audio_object_drain(struct audio_object *o) { return -1; }
		int audio_object_flush(struct audio_object *o) { return -1; }
		const char *audio_object_strerror(struct audio_object *o, int e) { return "no audio output (stub)"; }
	EOF
	gcc -shared -fPIC -O2 -Wl,-soname,libpcaudio.so.0 -o "$dir/espeak/libpcaudio.so.0" "$work/pcaudio.c"
	for f in phontab phonindex phondata intonations en_dict; do cp "$data/$f" "$dir/espeak/espeak-ng-data/"; done
	cp -r "$data/lang" "$data/voices" "$dir/espeak/espeak-ng-data/"
	(cd "$dir" && find espeak -type f | sort | while read -r f; do echo "$(sha_of "$f")  $f"; done) >>"$dir/MANIFEST"

	local voices=../shared/voices
	[ -f "$voices/bench-medium.onnx.xz" ] || die "$voices/bench-medium.onnx.xz not found (the bench voice lives beside the checkout)"
	cp "$voices/bench-medium.onnx.xz" "$voices/bench-medium.onnx.json" "$dir/voice/"
	xz -dc "$voices/bench-medium.onnx.xz" >"$work/bench-medium.onnx"
	echo "$(sha_of "$work/bench-medium.onnx")  voice/bench-medium.onnx" >>"$dir/MANIFEST"
	echo "$(sha_of "$dir/voice/bench-medium.onnx.json")  voice/bench-medium.onnx.json" >>"$dir/MANIFEST"
	log "prepared $dir ($(du -sh "$dir" | cut -f1)); move it to the GPU machine and run: $0 run DIR"
}

# cuda_dirs NAME…: the directories holding each NAME (the loader's cache
# first, then one search of the usual roots), or a failure naming the first
# one missing.
cuda_dirs() {
	local found name hit
	found=$(find /usr/local/nvidia /usr/local/cuda* /usr/lib /usr/local/lib /opt /lib -xdev \
		\( -name 'libcu*.so.*' -o -name 'libnvrtc*.so.*' \) 2>/dev/null || true)
	for name in "$@"; do
		hit=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n {print $NF; exit}')
		[ -n "$hit" ] || hit=$(grep -m1 "/$name\$" <<<"$found" || true)
		[ -n "$hit" ] || { log "$name not found"; return 1; }
		dirname "$hit"
	done | sort -u
}

run() {
	if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
		log "no NVIDIA GPU here (nvidia-smi finds none): nothing to measure. Run this on a machine with an NVIDIA GPU."
		exit 0
	fi
	[ -f "$1/MANIFEST" ] || die "$1 has no MANIFEST: run '$0 prepare $1' first"
	local dir
	dir=$(cd "$1" && pwd)
	local work
	work=${BENCH_WORK:-$(mktemp -d)}
	mkdir -p "$work/lib" "$work/bin" "$work/voice"
	log "unpacking into $work"
	for f in libonnxruntime.so.1 libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
		xz -dc "$dir/lib/$f.xz" >"$work/lib/$f"
	done
	xz -dc "$dir/bin/enginebench.xz" >"$work/bin/enginebench"
	chmod +x "$work/bin/enginebench"
	xz -dc "$dir/voice/bench-medium.onnx.xz" >"$work/voice/bench-medium.onnx"
	cp "$dir/voice/bench-medium.onnx.json" "$work/voice/"
	cp -r "$dir/espeak" "$work/"
	(cd "$work" && grep -v '^#' "$dir/MANIFEST" | sha256sum --quiet -c -) || die "files do not match $dir/MANIFEST"

	local dirs
	dirs=$(cuda_dirs libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9 libnvrtc.so.13) ||
		die "the NVIDIA driver, CUDA 13 runtime, cuBLAS, cuRAND, cuDNN 9 and NVRTC must be installed"
	export LD_LIBRARY_PATH="$work/espeak:$(paste -sd: <<<"$dirs")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	log "CUDA libraries from: $(paste -sd' ' <<<"$dirs")"
	export ESPEAK_DATA_PATH="$work/espeak" CHORUS_CACHE="$work/cache"
	local out=${BENCH_OUT:-$work/out}
	mkdir -p "$out"
	local eb="$work/bin/enginebench -ort $work/lib/libonnxruntime.so.1 -voice $work/voice/bench-medium.onnx -json $out/results.jsonl"
	{
		echo "# GPU benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
		echo
		echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
		echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
		echo "ONNX Runtime $ORT_VERSION (CUDA 13); $(grep -c . "$dir/MANIFEST") manifest lines; $(grep PRUNED "$dir/MANIFEST" | cut -c3-80 || true)"
		echo
		echo "| measurement | result | detail |"
		echo "|---|---|---|"
	} | tee "$out/results.md"
	bench() { # a fresh process per configuration: its peak memory is its own
		timeout "${BENCH_TIMEOUT:-180}" $eb "$@" 2>>"$out/stderr.log" | grep '^|' | tee -a "$out/results.md" || log "configuration failed: $* (see $out/stderr.log)"
	}
	local n=${BENCH_REQUESTS:-512} part=${2:-all}
	if [ "$part" = oom ]; then
		oom_split "$n"
		log "results in $out/results.md"
		return
	fi
	# Latency: one short sentence, one longer one, one paragraph; the CPU of
	# this machine with all cores and with 4 (a Cloud Run L4 task's vCPUs).
	bench -provider cuda -sections latency,newlength
	bench -provider cuda -sections latency -threads 1 -label "CUDA session, 1 CPU thread for its CPU nodes"
	bench -provider cuda -sections latency -cuda-opt cudnn_conv_use_max_workspace=0 -label "cudnn_conv_use_max_workspace=0"
	bench -provider cpu -sections latency
	bench -provider cpu -sections latency -threads 4
	bench -provider cuda -sections latency -cpu-offload-ids 128 -label "runs ≤ 128 ids offloaded to the CPU"
	# Throughput per run budget (padded ids) and runs in flight, under a
	# memory limit none reaches, so that each shows what it needs.
	local big="-gpu-mem-limit 120GiB -callers 2 -batch 256 -run-items 256 -requests $n"
	if [ "${BENCH_SWEEP:-1}" = 1 ]; then
		for budget in 4096 8192 16384 32768; do
			bench -provider cuda -sections throughput $big -budgets "$budget" -concurrent 1
		done
		for c in 2 4 8; do
			for budget in 2048 4096 8192; do
				bench -provider cuda -sections throughput $big -budgets "$budget" -concurrent "$c"
			done
		done
	fi
	# Small budgets, many runs in flight: the memory-bounded corner.
	for cb in 8:1024 12:1024 16:1024 6:1536 8:1536 6:2048 4:3072; do
		bench -provider cuda -sections throughput $big -budgets "${cb#*:}" -concurrent "${cb%:*}"
	done
	bench -provider cuda -sections throughput $big -budgets 2048 -concurrent 4 \
		-cuda-opt cudnn_conv_use_max_workspace=0 -label "cudnn_conv_use_max_workspace=0"
	# The engine's own defaults (sized for a 24 GB L4, 18 GiB arena limit).
	bench -provider cuda -sections throughput -requests "$n" -callers 2 -batch 128 -label "engine defaults (L4 sizing)"
	oom_split "$n"
	bench -provider cpu -sections throughput,rtf -requests 64 -callers 4 -batch 16 -threads "$(( $(nproc) / 4 ))" -concurrent 4 -label "CPU, 4 runs × nproc/4 threads"
	log "results in $out/results.md"
}

# oom_split N: an oversized budget under a small limit, so that runs run out
# of memory, are split and retried on a fresh model instance.
oom_split() {
	bench -provider cuda -sections throughput -requests "$(( $1 / 4 ))" -callers 1 -batch 128 -run-items 256 -budgets 65536 -concurrent 1 \
		-gpu-mem-limit 4GiB -label "4 GiB limit, budget 65536: OOM splits"
}

case "${1:-}" in
prepare) [ $# -ge 2 ] || usage; prepare "$2" "${3:-}" ;;
run) [ $# -ge 2 ] || usage; run "$2" "${3:-all}" ;;
*) usage ;;
esac
