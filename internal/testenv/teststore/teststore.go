// Package teststore gives tests blob stores: a temporary directory, or a
// fresh MinIO bucket removed with its objects when the test ends. It is apart
// from testenv because storage's own tests import testenv.
package teststore

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
)

// Local is a store in a temporary directory.
func Local(t testing.TB) storage.Store {
	t.Helper()
	st, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// MinIO is a store on a fresh bucket of the test server, skipping (or
// failing, see testenv) when the server does not answer.
func MinIO(t testing.TB) storage.Store {
	t.Helper()
	env := testenv.MinIO(t)
	ctx := context.Background()
	m, err := storage.NewMinIO(ctx, storage.MinIOConfig{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey, Bucket: env.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := minio.New(env.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(env.AccessKey, env.SecretKey, "")})
		if err != nil {
			t.Error(err)
			return
		}
		for o := range c.ListObjects(ctx, env.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = c.RemoveObject(ctx, env.Bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := c.RemoveBucket(ctx, env.Bucket); err != nil {
			t.Errorf("remove bucket: %v", err)
		}
	})
	return m
}

// EachBackend runs fn on SQLite and PostgreSQL (migrated, no hooks), each
// with blobs on local disk and on MinIO.
func EachBackend(t *testing.T, fn func(t *testing.T, d *db.DB, store storage.Store)) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		d := testenv.Open(t, url, db.Options{})
		t.Run("local", func(t *testing.T) { fn(t, d, Local(t)) })
		t.Run("minio", func(t *testing.T) { fn(t, d, MinIO(t)) })
	})
}
