package voicecache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/chorus-voice/chorus/synth-job/demovoice"
	"github.com/chorus-voice/chorus/synth-job/voice"
)

// memBucket is an in-memory Bucket.
type memBucket struct {
	mu      sync.Mutex
	objects map[string][]byte
	gens    map[string]int64
	reads   atomic.Int64
	corrupt bool          // flip a byte of what NewReader returns
	gate    chan struct{} // when set, NewReader waits for it
}

func newMemBucket() *memBucket {
	return &memBucket{objects: map[string][]byte{}, gens: map[string]int64{}}
}

func (b *memBucket) put(name string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[name] = data
	b.gens[name]++
}

func (b *memBucket) Attrs(_ context.Context, name string) (ObjectAttrs, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.objects[name]
	if !ok {
		return ObjectAttrs{}, fmt.Errorf("object %s: %w", name, ErrNotExist)
	}
	return ObjectAttrs{Size: int64(len(d)), CRC32C: crc32.Checksum(d, castagnoli), Generation: b.gens[name]}, nil
}

func (b *memBucket) NewReader(ctx context.Context, name string, gen int64) (io.ReadCloser, error) {
	if b.gate != nil {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.reads.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gens[name] != gen {
		return nil, fmt.Errorf("object %s generation %d: not found", name, gen)
	}
	d := bytes.Clone(b.objects[name])
	if b.corrupt && len(d) > 0 {
		d[len(d)/2] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(d)), nil
}

func demo(t *testing.T) (model, config []byte) {
	t.Helper()
	m, c, err := demovoice.Build(demovoice.English())
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func TestGetDownloadsVerifiesAndReuses(t *testing.T) {
	b := newMemBucket()
	model, config := demo(t)
	b.put("voices/en.onnx", model)
	b.put("voices/en.onnx.json", config)
	c, err := New(t.TempDir(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := c.Get(ctx, "demo-en", "voices/en.onnx", "voices/en.onnx.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(v.ModelPath)
	if err != nil || !bytes.Equal(got, model) {
		t.Fatalf("local model differs (%v)", err)
	}
	if v.Name != "demo-en" || v.Config.NumSpeakers != 4 {
		t.Errorf("voice %+v", v)
	}
	if n := b.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
	// Unchanged objects are not downloaded again.
	if _, err := c.Get(ctx, "demo-en", "voices/en.onnx", "voices/en.onnx.json"); err != nil {
		t.Fatal(err)
	}
	if n := b.reads.Load(); n != 2 {
		t.Errorf("%d reads after a cached Get, want 2", n)
	}
	// A new generation is.
	b.put("voices/en.onnx", append(bytes.Clone(model), 0))
	if _, err := c.Get(ctx, "demo-en", "voices/en.onnx", "voices/en.onnx.json"); err != nil {
		t.Fatal(err)
	}
	if n := b.reads.Load(); n != 3 {
		t.Errorf("%d reads after the model changed, want 3", n)
	}
}

func TestCorruptDownloadIsRejectedAndLeavesNothing(t *testing.T) {
	b := newMemBucket()
	model, config := demo(t)
	b.put("m.onnx", model)
	b.put("m.onnx.json", config)
	b.corrupt = true
	dir := t.TempDir()
	c, _ := New(dir, b, nil)
	_, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json")
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("err = %v, want ErrVerify", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "v"))
	for _, e := range entries {
		t.Errorf("left behind %s", e.Name())
	}
	// Once the transfer is healthy the same cache succeeds.
	b.corrupt = false
	if _, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json"); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidConfigAndID(t *testing.T) {
	b := newMemBucket()
	model, _ := demo(t)
	b.put("m.onnx", model)
	b.put("m.onnx.json", []byte(`{"audio":{"sample_rate":5}}`))
	c, _ := New(t.TempDir(), b, nil)
	if _, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json"); !errors.Is(err, voice.ErrInvalid) {
		t.Errorf("bad config: %v", err)
	}
	if _, err := c.Get(context.Background(), "../etc", "m.onnx", "m.onnx.json"); !errors.Is(err, voice.ErrInvalid) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := c.Get(context.Background(), "v2", "missing.onnx", "m.onnx.json"); err == nil {
		t.Error("missing object accepted")
	}
}

func TestConcurrentGetsDownloadOnce(t *testing.T) {
	b := newMemBucket()
	model, config := demo(t)
	b.put("m.onnx", model)
	b.put("m.onnx.json", config)
	b.gate = make(chan struct{})
	c, _ := New(t.TempDir(), b, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json")
			errs <- err
		}()
	}
	close(b.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Ten callers, one download of each object (a caller that arrives after
	// the first download finished finds the verified files).
	if n := b.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
}

func TestCallerCancelDoesNotBreakSharedDownload(t *testing.T) {
	b := newMemBucket()
	model, config := demo(t)
	b.put("m.onnx", model)
	b.put("m.onnx.json", config)
	b.gate = make(chan struct{})
	c, _ := New(t.TempDir(), b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "v", "m.onnx", "m.onnx.json")
		first <- err
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(b.gate)
	if _, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json"); err != nil {
		t.Fatal(err)
	}
}

// The GCS adapter against fake-gcs-server in process.
func TestGCSAdapter(t *testing.T) {
	model, config := demo(t)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		NoListener: true,
		InitialObjects: []fakestorage.Object{
			{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: "voices/en.onnx"}, Content: model},
			{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: "voices/en.onnx.json"}, Content: config},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	g := GCS{Bucket: srv.Client().Bucket("models")}
	attrs, err := g.Attrs(context.Background(), "voices/en.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Size != int64(len(model)) || attrs.CRC32C != crc32.Checksum(model, castagnoli) {
		t.Fatalf("attrs %+v", attrs)
	}
	c, _ := New(t.TempDir(), g, nil)
	v, err := c.Get(context.Background(), "en", "voices/en.onnx", "voices/en.onnx.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(v.ModelPath); !bytes.Equal(got, model) {
		t.Error("model differs after GCS download")
	}
	if _, err := g.Attrs(context.Background(), "voices/missing.onnx"); !errors.Is(err, ErrNotExist) {
		t.Errorf("a missing object: %v, want ErrNotExist", err)
	}
}

// prepareFake stands in for voiceprep.Prepare: it writes a prepared graph
// of fixed bytes beside the model and counts its calls.
type prepareFake struct{ calls atomic.Int64 }

var fakeGraph = []byte("prepared graph bytes")

func (f *prepareFake) prepare(_ context.Context, modelPath string, _ *voice.Config) (*voice.Prepared, error) {
	f.calls.Add(1)
	if err := os.WriteFile(modelPath+voice.PreparedGraphSuffix, fakeGraph, 0o644); err != nil {
		return nil, err
	}
	p := manifestFor(t0SHA(modelPath), fakeGraph)
	b, _ := json.Marshal(p)
	return p, os.WriteFile(modelPath+voice.PreparedManifestSuffix, b, 0o644)
}

func t0SHA(path string) string {
	b, _ := os.ReadFile(path)
	return sha(b)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func manifestFor(source string, graph []byte) *voice.Prepared {
	return &voice.Prepared{Version: voice.PreparedVersion, Source: source, Durations: true,
		Graph: &voice.PreparedGraph{SHA256: sha(graph), Size: int64(len(graph))}}
}

// The graphs import stored beside the model are downloaded, checked
// against their manifest's sha256 and used; one that does not match its
// manifest is refused.
func TestStoredPreparedGraphs(t *testing.T) {
	b := newMemBucket()
	model, config := demo(t)
	b.put("m.onnx", model)
	b.put("m.onnx.json", config)
	manifest, _ := json.Marshal(manifestFor(sha(model), fakeGraph))
	b.put("m.onnx"+voice.PreparedManifestSuffix, manifest)
	b.put("m.onnx"+voice.PreparedGraphSuffix, fakeGraph)
	f := &prepareFake{}
	c, _ := New(t.TempDir(), b, nil)
	c.Prepare = f.prepare
	v, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Prepared || v.GraphPath != v.ModelPath+voice.PreparedGraphSuffix || v.LiftedPath != "" || f.calls.Load() != 0 {
		t.Fatalf("voice %+v, %d local preparations; want the stored graph", v, f.calls.Load())
	}
	if got, _ := os.ReadFile(v.GraphPath); !bytes.Equal(got, fakeGraph) {
		t.Error("the prepared graph differs from the stored one")
	}
	// A graph that is not the one its manifest names.
	b.put("m.onnx"+voice.PreparedGraphSuffix, []byte("other graph bytes!!!"))
	if _, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json"); !errors.Is(err, ErrVerify) {
		t.Errorf("a graph that does not match its manifest: %v, want ErrVerify", err)
	}
}

// A voice the bucket has no current prepared graphs for (imported before
// they existed, or a manifest of another model) is prepared here, once.
func TestUnpreparedVoiceIsPreparedOnceHere(t *testing.T) {
	for _, stale := range []bool{false, true} {
		b := newMemBucket()
		model, config := demo(t)
		b.put("m.onnx", model)
		b.put("m.onnx.json", config)
		if stale {
			manifest, _ := json.Marshal(manifestFor(sha([]byte("another model")), fakeGraph))
			b.put("m.onnx"+voice.PreparedManifestSuffix, manifest)
		}
		f := &prepareFake{}
		c, _ := New(t.TempDir(), b, nil)
		c.Prepare = f.prepare
		for range 2 {
			v, err := c.Get(context.Background(), "v", "m.onnx", "m.onnx.json")
			if err != nil {
				t.Fatal(err)
			}
			if !v.Prepared || v.GraphPath == "" {
				t.Fatalf("stale manifest %v: voice %+v, want graphs prepared here", stale, v)
			}
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("stale manifest %v: prepared %d times, want once", stale, n)
		}
		// Without a Preparer the voice serves its model as exported.
		c2, _ := New(t.TempDir(), b, nil)
		if v, err := c2.Get(context.Background(), "v", "m.onnx", "m.onnx.json"); err != nil || v.Prepared {
			t.Errorf("stale manifest %v, no Preparer: %v, prepared %v", stale, err, v != nil && v.Prepared)
		}
	}
}
