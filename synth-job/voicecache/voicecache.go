// Package voicecache keeps voices from the models bucket on local disk.
//
// A voice is two objects, NAME.onnx and NAME.onnx.json, and its prepared
// graphs beside them (voice.Prepared: NAME.onnx.prepared.json and the
// graphs it names), which import stored. Each is downloaded at a pinned
// generation into a temporary file in the cache directory, verified
// against the object's size and CRC32C (and a prepared graph against the
// sha256 its manifest records), synced and renamed into place, so a crash
// or a corrupt transfer never leaves a file that looks complete. A small
// JSON sidecar records what a local file was verified against; a later Get
// only re-downloads when the object changed. Concurrent Gets of one voice
// share a single download.
//
// A voice imported before prepared graphs existed has no manifest (or one
// for another model or version of the rewrites): the cache then prepares
// the graphs on local disk once with Cache.Prepare, when set, and keeps
// them with the download; `chorus-voices prepare` stores them in the bucket
// so that no worker has to.
package voicecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/chorus-voice/chorus/synth-job/voice"
)

// ObjectAttrs are the attributes of a bucket object the cache verifies.
type ObjectAttrs struct {
	Size       int64
	CRC32C     uint32
	Generation int64
}

// Bucket is the part of a storage bucket the cache needs. GCS implements it
// (see GCS); tests use an in-memory fake.
type Bucket interface {
	Attrs(ctx context.Context, object string) (ObjectAttrs, error)
	// NewReader reads the object at exactly this generation.
	NewReader(ctx context.Context, object string, generation int64) (io.ReadCloser, error)
}

// ErrVerify means a download did not match the object's size or CRC32C,
// or a prepared graph the sha256 of its manifest.
var ErrVerify = errors.New("downloaded object failed verification")

// ErrNotExist is what a Bucket's Attrs wraps for an object that is not
// there.
var ErrNotExist = errors.New("object does not exist")

// Preparer makes the prepared graphs of the model at modelPath beside it
// (synth-job/voiceprep.Prepare) and returns their manifest.
type Preparer func(ctx context.Context, modelPath string, cfg *voice.Config) (*voice.Prepared, error)

// DownloadTimeout bounds one voice download. Downloads run detached from
// the caller that started them (others may be waiting on the same one).
const DownloadTimeout = 10 * time.Minute

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// voiceID guards the local directory name.
var voiceID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// Cache downloads voices into a local directory.
type Cache struct {
	dir    string
	bucket Bucket
	log    *slog.Logger
	group  singleflight.Group
	// Prepare, when set, prepares on local disk the graphs of a voice the
	// bucket has none for; without it such a voice serves its model as
	// exported.
	Prepare Preparer
}

// New returns a cache in dir (created if missing).
func New(dir string, bucket Bucket, log *slog.Logger) (*Cache, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("voice cache dir: %w", err)
	}
	return &Cache{dir: dir, bucket: bucket, log: log}, nil
}

// Get returns the voice id, whose model and config are the given objects of
// the bucket, from local disk, downloading what is missing or changed. The
// config is validated (voice.ErrInvalid when broken).
func (c *Cache) Get(ctx context.Context, id, modelObject, configObject string) (*voice.Voice, error) {
	if !voiceID.MatchString(id) {
		return nil, fmt.Errorf("%w: voice id %q", voice.ErrInvalid, id)
	}
	ch := c.group.DoChan(id, func() (any, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DownloadTimeout)
		defer cancel()
		return c.fetch(dctx, id, modelObject, configObject)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*voice.Voice), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Cache) fetch(ctx context.Context, id, modelObject, configObject string) (*voice.Voice, error) {
	dir := filepath.Join(c.dir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("voice cache dir: %w", err)
	}
	model := filepath.Join(dir, "model.onnx")
	config := model + ".json"
	if _, err := c.ensure(ctx, configObject, config); err != nil {
		return nil, err
	}
	sum, err := c.ensure(ctx, modelObject, model)
	if err != nil {
		return nil, err
	}
	v, err := voice.Open(model, config)
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", id, err)
	}
	v.Name = id
	if err := c.prepared(ctx, v, modelObject, sum); err != nil {
		return nil, fmt.Errorf("voice %s: %w", id, err)
	}
	return v, nil
}

// prepared points v at its prepared graphs: those the bucket holds beside
// modelObject when their manifest is current for this model (sum), else
// graphs prepared here once (Prepare), else none.
func (c *Cache) prepared(ctx context.Context, v *voice.Voice, modelObject, sum string) error {
	manifest := v.ModelPath + voice.PreparedManifestSuffix
	p, err := c.storedPrepared(ctx, v, modelObject, sum)
	switch {
	case err != nil:
		return err
	case p != nil:
		return v.UsePrepared(p, sum)
	}
	// None stored for this model: graphs prepared here earlier serve.
	if local, err := voice.ReadPrepared(manifest); err == nil && local.Current(sum) && v.UsePrepared(local, sum) == nil {
		return nil
	}
	if c.Prepare == nil {
		c.log.Warn("voice has no prepared graphs for its model; it runs as exported (store them: chorus-voices prepare)",
			"voice", v.Name)
		return nil
	}
	c.log.Warn("voice has no prepared graphs for its model in the bucket; preparing them on this machine "+
		"(store them once for every worker: chorus-voices prepare)", "voice", v.Name)
	p, err = c.Prepare(ctx, v.ModelPath, v.Config)
	if err != nil {
		return fmt.Errorf("prepare graphs: %w", err)
	}
	return v.UsePrepared(p, sum)
}

// storedPrepared downloads the manifest stored beside modelObject and the
// graphs it names, each verified against the sha256 it records. It returns
// nil, and no error, when the bucket has no manifest or one that is not
// current for this model.
func (c *Cache) storedPrepared(ctx context.Context, v *voice.Voice, modelObject, sum string) (*voice.Prepared, error) {
	// The stored manifest is kept apart from one made here (prepared).
	manifest := v.ModelPath + ".stored" + voice.PreparedManifestSuffix
	if _, err := c.ensure(ctx, modelObject+voice.PreparedManifestSuffix, manifest); err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	p, err := voice.ReadPrepared(manifest)
	if err != nil {
		return nil, err
	}
	if !p.Current(sum) {
		c.log.Warn("the voice's stored prepared graphs are not current for its model", "voice", v.Name,
			"version", p.Version, "want_version", voice.PreparedVersion, "source", p.Source, "model", sum)
		return nil, nil
	}
	// The stored graphs replace any made here.
	os.Remove(v.ModelPath + voice.PreparedManifestSuffix)
	for _, g := range []struct {
		graph  *voice.PreparedGraph
		suffix string
	}{{p.Graph, voice.PreparedGraphSuffix}, {p.Lifted, voice.LiftedGraphSuffix}} {
		if g.graph == nil {
			continue
		}
		local := v.ModelPath + g.suffix
		got, err := c.ensure(ctx, modelObject+g.suffix, local)
		if err != nil {
			return nil, err
		}
		if got != g.graph.SHA256 {
			os.Remove(local + ".meta")
			return nil, fmt.Errorf("%w: %s: sha256 %.12s, its manifest says %.12s", ErrVerify, modelObject+g.suffix, got, g.graph.SHA256)
		}
	}
	return p, nil
}

// sidecar records what a local file was verified against, and its sha256.
type sidecar struct {
	Object string      `json:"object"`
	Attrs  ObjectAttrs `json:"attrs"`
	SHA256 string      `json:"sha256,omitempty"`
}

// ensure makes local a verified copy of the current generation of object
// and returns its hex sha256.
func (c *Cache) ensure(ctx context.Context, object, local string) (string, error) {
	attrs, err := c.bucket.Attrs(ctx, object)
	if err != nil {
		return "", fmt.Errorf("stat %s: %w", object, err)
	}
	meta := local + ".meta"
	if b, err := os.ReadFile(meta); err == nil {
		var sc sidecar
		if json.Unmarshal(b, &sc) == nil && sc.Object == object && sc.Attrs == attrs {
			if st, err := os.Stat(local); err == nil && st.Size() == attrs.Size {
				if sc.SHA256 != "" {
					return sc.SHA256, nil
				}
				// Verified before sidecars recorded the sha256: hash it once.
				if sc.SHA256, err = fileSHA256(local); err != nil {
					return "", err
				}
				return sc.SHA256, writeSidecar(meta, sc)
			}
		}
	}
	start := time.Now()
	sum, err := c.download(ctx, object, attrs, local)
	if err != nil {
		return "", err
	}
	if err := writeSidecar(meta, sidecar{Object: object, Attrs: attrs, SHA256: sum}); err != nil {
		return "", err
	}
	c.log.Info("voice object downloaded", "object", object, "bytes", attrs.Size,
		"generation", attrs.Generation, "ms", time.Since(start).Milliseconds())
	return sum, nil
}

func writeSidecar(meta string, sc sidecar) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	if err := writeAtomic(meta, b); err != nil {
		return fmt.Errorf("write %s: %w", meta, err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// download writes a verified copy of object into local and returns its
// hex sha256.
func (c *Cache) download(ctx context.Context, object string, attrs ObjectAttrs, local string) (string, error) {
	r, err := c.bucket.NewReader(ctx, object, attrs.Generation)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", object, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".download-*")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", object, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := crc32.New(castagnoli)
	sh := sha256.New()
	// Read one byte more than announced to notice an object that is longer.
	n, err := io.Copy(io.MultiWriter(tmp, h, sh), io.LimitReader(r, attrs.Size+1))
	if err != nil {
		return "", fmt.Errorf("download %s: %w", object, err)
	}
	if n != attrs.Size {
		return "", fmt.Errorf("%w: %s: got %d bytes, want %d", ErrVerify, object, n, attrs.Size)
	}
	if sum := h.Sum32(); sum != attrs.CRC32C {
		return "", fmt.Errorf("%w: %s: CRC32C %08x, want %08x", ErrVerify, object, sum, attrs.CRC32C)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("download %s: %w", object, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("download %s: %w", object, err)
	}
	// Invalidate the sidecar before replacing the file it describes.
	os.Remove(local + ".meta")
	if err := os.Rename(tmp.Name(), local); err != nil {
		return "", fmt.Errorf("download %s: %w", object, err)
	}
	committed = true
	return hex.EncodeToString(sh.Sum(nil)), nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".meta-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
