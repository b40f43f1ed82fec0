package voicecache

import (
	"context"
	"errors"
	"fmt"
	"io"

	"cloud.google.com/go/storage"
)

// GCS adapts a Cloud Storage bucket to Bucket.
type GCS struct {
	Bucket *storage.BucketHandle
}

// Attrs returns the object's size, CRC32C and generation; a missing object
// is ErrNotExist (and storage.ErrObjectNotExist).
func (g GCS) Attrs(ctx context.Context, object string) (ObjectAttrs, error) {
	a, err := g.Bucket.Object(object).Attrs(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return ObjectAttrs{}, fmt.Errorf("%w: %w", ErrNotExist, err)
	}
	if err != nil {
		return ObjectAttrs{}, err
	}
	return ObjectAttrs{Size: a.Size, CRC32C: a.CRC32C, Generation: a.Generation}, nil
}

// NewReader reads the given generation of the object, so that the bytes
// match the attributes they are verified against even if the object is
// replaced meanwhile.
func (g GCS) NewReader(ctx context.Context, object string, generation int64) (io.ReadCloser, error) {
	return g.Bucket.Object(object).Generation(generation).NewReader(ctx)
}
