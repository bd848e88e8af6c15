package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIOConfig configures NewMinIO.
type MinIOConfig struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Bucket    string
	UseSSL    bool
	Region    string // optional
}

// MinIO stores objects in an S3-compatible bucket.
//
// S3 takes user metadata in the request headers, before the body, but the
// SHA-256 is only known after the body has been streamed. Put therefore
// uploads to a unique staging key under StagingPrefix, then server-side
// copies it to the real key with x-amz-meta-sha256 set, and removes the
// staging object. The copy replaces the key atomically, so readers see either
// the old or the new object, never a partial one. Staging keys contain '~',
// which ValidKey rejects, so they never collide with real keys; a crash
// between upload and cleanup can leave one behind (a bucket lifecycle rule
// expiring StagingPrefix after a day cleans those up).
type MinIO struct {
	client *minio.Client
	bucket string
}

var _ Store = (*MinIO)(nil)

// StagingPrefix is where MinIO.Put uploads objects before committing them.
const StagingPrefix = "~staging/"

const (
	// metaSHA256 is the user metadata key, sent as x-amz-meta-sha256.
	metaSHA256 = "sha256"
	// unknownSizePartSize bounds the buffer minio-go allocates for size -1
	// uploads (its default would be ~537 MiB per upload). 16 MiB × 10000
	// parts still allows objects far beyond anything we store.
	unknownSizePartSize = 16 << 20
	// cleanupTimeout bounds staging cleanup, which runs even if ctx is done.
	cleanupTimeout = 30 * time.Second
)

// NewMinIO connects to the server and creates the bucket if it is missing.
func NewMinIO(ctx context.Context, cfg MinIOConfig) (*MinIO, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("storage: minio: endpoint and bucket are required")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
		// Lets a PUT carry a checksum computed by the caller (putDirect).
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: minio: %w", err)
	}
	m := &MinIO{client: client, bucket: cfg.Bucket}
	// Check first so that credentials without s3:CreateBucket work against
	// a bucket provisioned by operations.
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("storage: minio: bucket %s: %w", cfg.Bucket, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		// Another instance starting at the same time may have won the race.
		if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
			return nil, fmt.Errorf("storage: minio: create bucket %s: %w", cfg.Bucket, err)
		}
	}
	return m, nil
}

// Bucket returns the bucket name.
func (m *MinIO) Bucket() string { return m.bucket }

// Put implements Store.
func (m *MinIO) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error) {
	if err := ValidKey(key); err != nil {
		return ObjectInfo{}, err
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return ObjectInfo{}, err
	}
	if size >= 0 && size <= directPutMax {
		return m.putDirect(ctx, key, r, size, ct)
	}

	var rnd [16]byte
	rand.Read(rnd[:])
	staging := StagingPrefix + hex.EncodeToString(rnd[:])
	defer m.removeStaging(ctx, staging)

	h := sha256.New()
	src := io.Reader(r)
	if size >= 0 {
		// Never let more than size bytes reach the hash or the server.
		src = io.LimitReader(r, size)
	}
	// The tee also hides io.ReaderAt/io.Seeker from minio-go, so it reads the
	// input exactly once, in order, and the hash covers what was uploaded.
	cr := &countingReader{r: io.TeeReader(src, h)}
	opts := minio.PutObjectOptions{ContentType: ct}
	if size < 0 {
		opts.PartSize = unknownSizePartSize
	}
	up, err := m.client.PutObject(ctx, m.bucket, staging, cr, size, opts)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: minio put %s: %w", key, err)
	}
	if err := checkSize(r, size, cr.n); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: minio put %s: %w", key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))

	cp, err := m.client.CopyObject(ctx,
		minio.CopyDestOptions{
			Bucket:          m.bucket,
			Object:          key,
			ReplaceMetadata: true,
			UserMetadata:    map[string]string{metaSHA256: sum},
			ContentType:     ct,
		},
		// MatchETag guarantees we commit exactly the bytes we hashed.
		minio.CopySrcOptions{Bucket: m.bucket, Object: staging, MatchETag: up.ETag},
	)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: minio put %s: commit: %w", key, err)
	}
	return ObjectInfo{
		Key:         key,
		Size:        cr.n,
		ContentType: ct,
		SHA256:      sum,
		ModTime:     cp.LastModified,
	}, nil
}

// directPutMax bounds the objects Put holds in memory to store in one
// request (camera snapshots, scans, photos: the hot path).
const directPutMax = 8 << 20

// putDirect stores a small object of known size with one PUT to its final
// key: read and hash it first, then send exactly those bytes with their
// SHA-256, which the server checks (it refuses anything altered on the way). Larger objects stream
// through a staging key instead (hash while uploading, then commit by a
// server-side copy guarded by the ETag), which costs three requests.
func (m *MinIO) putDirect(ctx context.Context, key string, r io.Reader, size int64, ct string) (ObjectInfo, error) {
	var buf []byte
	if b, ok := r.(interface{ Bytes() []byte }); ok && int64(len(b.Bytes())) == size {
		buf = b.Bytes() // already in memory, exactly size bytes (a bytes.Buffer)
	} else {
		buf = make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return ObjectInfo{}, fmt.Errorf("storage: minio put %s: read %d bytes: %w", key, size, err)
		}
		if err := checkSize(r, size, size); err != nil {
			return ObjectInfo{}, fmt.Errorf("storage: minio put %s: %w", key, err)
		}
	}
	h := sha256.Sum256(buf)
	sum := hex.EncodeToString(h[:])
	up, err := m.client.PutObject(ctx, m.bucket, key, bytes.NewReader(buf), size, minio.PutObjectOptions{
		ContentType: ct,
		// The bytes are hashed once, here: the server checks them against
		// this SHA-256 and refuses anything else, so neither a streaming
		// signature nor Content-MD5 needs to hash them again.
		UserMetadata:         map[string]string{metaSHA256: sum, "x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(h[:])},
		DisableContentSha256: true,
	})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: minio put %s: %w", key, err)
	}
	mt := up.LastModified
	if mt.IsZero() { // a PUT response need not carry it
		mt = time.Now()
	}
	return ObjectInfo{Key: key, Size: size, ContentType: ct, SHA256: sum, ModTime: mt}, nil
}

// removeStaging deletes the staging object whatever happened to the Put,
// including a cancelled ctx.
func (m *MinIO) removeStaging(ctx context.Context, staging string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	// Removing a missing object succeeds on S3; other failures leave an
	// orphan under StagingPrefix, which is harmless.
	_ = m.client.RemoveObject(ctx, m.bucket, staging, minio.RemoveObjectOptions{})
}

// Get implements Store. The body is streamed from the server as it is read.
func (m *MinIO) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if err := ValidKey(key); err != nil {
		return nil, ObjectInfo{}, err
	}
	obj, err := m.client.GetObject(ctx, m.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, ObjectInfo{}, m.mapErr("get", key, err)
	}
	// Stat issues the GET and surfaces NoSuchKey before we hand out a reader.
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, ObjectInfo{}, m.mapErr("get", key, err)
	}
	return obj, minioInfo(key, st), nil
}

// Stat implements Store.
func (m *MinIO) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ValidKey(key); err != nil {
		return ObjectInfo{}, err
	}
	st, err := m.client.StatObject(ctx, m.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, m.mapErr("stat", key, err)
	}
	return minioInfo(key, st), nil
}

// Delete implements Store. S3 deletes of missing keys succeed silently, so
// existence is checked first to honour the ErrNotFound contract (a
// concurrent delete between the two calls is reported as success).
func (m *MinIO) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if _, err := m.client.StatObject(ctx, m.bucket, key, minio.StatObjectOptions{}); err != nil {
		return m.mapErr("delete", key, err)
	}
	if err := m.client.RemoveObject(ctx, m.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return m.mapErr("delete", key, err)
	}
	return nil
}

// Ping implements Store: the server answers and the bucket exists.
func (m *MinIO) Ping(ctx context.Context) error {
	ok, err := m.client.BucketExists(ctx, m.bucket)
	if err != nil {
		return fmt.Errorf("storage: minio: %w", err)
	}
	if !ok {
		return fmt.Errorf("storage: minio: bucket %s does not exist", m.bucket)
	}
	return nil
}

func (m *MinIO) mapErr(op, key string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("storage: minio %s %s: %w", op, key, err)
}

func minioInfo(key string, st minio.ObjectInfo) ObjectInfo {
	return ObjectInfo{
		Key:         key,
		Size:        st.Size,
		ContentType: st.ContentType,
		// Read from the raw headers: canonical lookup, independent of how
		// minio-go normalises UserMetadata keys.
		SHA256:  st.Metadata.Get("X-Amz-Meta-" + metaSHA256),
		ModTime: st.LastModified,
	}
}
