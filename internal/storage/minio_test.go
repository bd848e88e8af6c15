package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/minio/minio-go/v7"
)

// newTestMinIO returns a MinIO store on a fresh bucket of the test server and
// removes the bucket (after checking no staging object leaked) at the end.
func newTestMinIO(t *testing.T) *MinIO {
	t.Helper()
	env := testenv.MinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := NewMinIO(ctx, MinIOConfig{
		Endpoint:  env.Endpoint,
		AccessKey: env.AccessKey,
		SecretKey: env.SecretKey,
		Bucket:    env.Bucket,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if leaked := listKeys(t, m, StagingPrefix); len(leaked) > 0 {
			t.Errorf("staging objects left behind: %v", leaked)
		}
		removeBucket(t, m)
	})
	return m
}

func TestMinIOContract(t *testing.T) {
	testStoreContract(t, func(t *testing.T) Store { return newTestMinIO(t) })
}

// The checksum must be real S3 user metadata, visible to other tools.
func TestMinIOStoresSHA256Metadata(t *testing.T) {
	m := newTestMinIO(t)
	ctx := context.Background()
	info, err := m.Put(ctx, "meta/check.txt", strings.NewReader("abc"), 3, "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.client.StatObject(ctx, m.bucket, "meta/check.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // sha256("abc")
	if got := st.Metadata.Get("X-Amz-Meta-Sha256"); got != want || info.SHA256 != want {
		t.Fatalf("x-amz-meta-sha256 = %q, Put returned %q, want %q", got, info.SHA256, want)
	}
	if st.ContentType != "text/plain" {
		t.Fatalf("Content-Type = %q", st.ContentType)
	}
}

func TestNewMinIOConcurrentCreators(t *testing.T) {
	env := testenv.MinIO(t)
	cfg := MinIOConfig{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey, Bucket: env.Bucket}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stores []*MinIO
	)
	for range 4 {
		wg.Go(func() {
			m, err := NewMinIO(ctx, cfg)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			stores = append(stores, m)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(stores) > 0 {
		defer removeBucket(t, stores[0])
		if err := stores[0].Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewMinIOBadConfig(t *testing.T) {
	if _, err := NewMinIO(context.Background(), MinIOConfig{Endpoint: "127.0.0.1:1"}); err == nil {
		t.Fatal("NewMinIO without a bucket succeeded")
	}
	env := testenv.MinIO(t)
	_, err := NewMinIO(context.Background(), MinIOConfig{
		Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: "wrong-secret", Bucket: env.Bucket,
	})
	if err == nil {
		t.Fatal("NewMinIO with a wrong secret succeeded")
	}
}

func TestMinIOPingMissingBucket(t *testing.T) {
	m := newTestMinIO(t)
	removeBucket(t, m)
	if err := m.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded without the bucket")
	}
	// Recreate so the cleanup registered by newTestMinIO finds it.
	if err := m.client.MakeBucket(context.Background(), m.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
}

func listKeys(t *testing.T, m *MinIO, prefix string) []string {
	t.Helper()
	var keys []string
	for o := range m.client.ListObjects(context.Background(), m.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			if minio.ToErrorResponse(o.Err).Code == minio.NoSuchBucket {
				return nil
			}
			t.Errorf("list %s: %v", prefix, o.Err)
			return keys
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func removeBucket(t *testing.T, m *MinIO) {
	t.Helper()
	ctx := context.Background()
	for _, k := range listKeys(t, m, "") {
		if err := m.client.RemoveObject(ctx, m.bucket, k, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("cleanup %s: %v", k, err)
		}
	}
	err := m.client.RemoveBucket(ctx, m.bucket)
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchBucket {
		t.Errorf("remove bucket %s: %v", m.bucket, err)
	}
}

// putDirect relies on the server checking the SHA-256 it sends: bytes that
// do not match it are refused and nothing is stored.
func TestMinIORefusesBytesNotMatchingTheChecksum(t *testing.T) {
	m := newTestMinIO(t)
	ctx := context.Background()
	good := sha256.Sum256([]byte("the bytes that were hashed"))
	body := []byte("other bytes on the wire")
	_, err := m.client.PutObject(ctx, m.bucket, "checksum/bad.bin", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
		UserMetadata:         map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(good[:])},
		DisableContentSha256: true,
	})
	if err == nil {
		t.Fatal("the server stored bytes that do not match their checksum")
	}
	if _, err := m.Stat(ctx, "checksum/bad.bin"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the refused PUT: %v", err)
	}
}
