// Package voicecache keeps voices from the models bucket on local disk.
//
// A voice is two objects, NAME.onnx and NAME.onnx.json. Each is downloaded
// at a pinned generation into a temporary file in the cache directory,
// verified against the object's size and CRC32C, synced and renamed into
// place, so a crash or a corrupt transfer never leaves a file that looks
// complete. A small JSON sidecar records what a local file was verified
// against; a later Get only re-downloads when the object changed.
// Concurrent Gets of one voice share a single download.
package voicecache

import (
	"context"
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

// ErrVerify means a download did not match the object's size or CRC32C.
var ErrVerify = errors.New("downloaded object failed verification")

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
	if err := c.ensure(ctx, configObject, config); err != nil {
		return nil, err
	}
	if err := c.ensure(ctx, modelObject, model); err != nil {
		return nil, err
	}
	v, err := voice.Open(model, config)
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", id, err)
	}
	v.Name = id
	return v, nil
}

// sidecar records what a local file was verified against.
type sidecar struct {
	Object string      `json:"object"`
	Attrs  ObjectAttrs `json:"attrs"`
}

// ensure makes local a verified copy of the current generation of object.
func (c *Cache) ensure(ctx context.Context, object, local string) error {
	attrs, err := c.bucket.Attrs(ctx, object)
	if err != nil {
		return fmt.Errorf("stat %s: %w", object, err)
	}
	meta := local + ".meta"
	if b, err := os.ReadFile(meta); err == nil {
		var sc sidecar
		if json.Unmarshal(b, &sc) == nil && sc.Object == object && sc.Attrs == attrs {
			if st, err := os.Stat(local); err == nil && st.Size() == attrs.Size {
				return nil
			}
		}
	}
	start := time.Now()
	if err := c.download(ctx, object, attrs, local); err != nil {
		return err
	}
	b, err := json.Marshal(sidecar{Object: object, Attrs: attrs})
	if err != nil {
		return err
	}
	if err := writeAtomic(meta, b); err != nil {
		return fmt.Errorf("write %s: %w", meta, err)
	}
	c.log.Info("voice object downloaded", "object", object, "bytes", attrs.Size,
		"generation", attrs.Generation, "ms", time.Since(start).Milliseconds())
	return nil
}

func (c *Cache) download(ctx context.Context, object string, attrs ObjectAttrs, local string) error {
	r, err := c.bucket.NewReader(ctx, object, attrs.Generation)
	if err != nil {
		return fmt.Errorf("read %s: %w", object, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), ".download-*")
	if err != nil {
		return fmt.Errorf("download %s: %w", object, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := crc32.New(castagnoli)
	// Read one byte more than announced to notice an object that is longer.
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, attrs.Size+1))
	if err != nil {
		return fmt.Errorf("download %s: %w", object, err)
	}
	if n != attrs.Size {
		return fmt.Errorf("%w: %s: got %d bytes, want %d", ErrVerify, object, n, attrs.Size)
	}
	if sum := h.Sum32(); sum != attrs.CRC32C {
		return fmt.Errorf("%w: %s: CRC32C %08x, want %08x", ErrVerify, object, sum, attrs.CRC32C)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("download %s: %w", object, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("download %s: %w", object, err)
	}
	// Invalidate the sidecar before replacing the file it describes.
	os.Remove(local + ".meta")
	if err := os.Rename(tmp.Name(), local); err != nil {
		return fmt.Errorf("download %s: %w", object, err)
	}
	committed = true
	return nil
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
