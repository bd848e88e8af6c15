package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
)

// Local stores objects as files under a directory.
//
// Each key maps to one file at <dir>/<key>. The file starts with a small
// header holding the SHA-256 and content type, followed by the content, so
// the metadata and the data are committed by a single rename: there is no
// window where a crash leaves new content with old metadata (as a separate
// sidecar file would). Files are written to a temporary name in the target
// directory, fsynced, renamed into place and the directory fsynced.
//
// Temporary files are named "~tmp-*"; '~' is not allowed in keys, so a crash
// can leave such a file behind but never a visible half object.
//
// All file access goes through os.Root, so even a symlink planted in the tree
// cannot lead outside dir.
type Local struct {
	dir string
}

var _ Store = (*Local)(nil)

// Layout of the object header (all integers big-endian):
//
//	magic  [8]byte  "KWBLOB1\n"
//	sha256 [32]byte
//	ctLen  uint16
//	ctype  [ctLen]byte
const (
	localMagic   = "KWBLOB1\n"
	localFixedHd = len(localMagic) + sha256.Size + 2
	localTmpPfx  = "~tmp-"
)

// NewLocal returns a Local rooted at dir, creating it (0o750) if needed.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("storage: local: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: local: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("storage: local: %w", err)
	}
	l := &Local{dir: abs}
	if err := l.Ping(context.Background()); err != nil {
		return nil, err
	}
	return l, nil
}

// Dir returns the absolute root directory.
func (l *Local) Dir() string { return l.dir }

// Opening the root per call (rather than holding it) keeps Local free of a
// Close method and follows the directory if it is replaced.
func (l *Local) root() (*os.Root, error) {
	r, err := os.OpenRoot(l.dir)
	if err != nil {
		return nil, fmt.Errorf("storage: local: %w", err)
	}
	return r, nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (ObjectInfo, error) {
	if err := ValidKey(key); err != nil {
		return ObjectInfo{}, err
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	root, err := l.root()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer root.Close()

	dir := path.Dir(key)
	f, tmp, err := createTemp(root, dir)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			root.Remove(tmp)
		}
	}()

	hdr := make([]byte, localFixedHd+len(ct))
	copy(hdr, localMagic)
	binary.BigEndian.PutUint16(hdr[localFixedHd-2:], uint16(len(ct)))
	copy(hdr[localFixedHd:], ct)
	if _, err := f.Write(hdr); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}

	h := sha256.New()
	src := io.Reader(ctxReader{ctx, r})
	if size >= 0 {
		src = io.LimitReader(src, size)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	if err := checkSize(r, size, n); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	sum := h.Sum(nil)
	// The digest is only known now; patch it into the reserved header slot.
	if _, err := f.WriteAt(sum, int64(len(localMagic))); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	if err := root.Rename(tmp, key); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	committed = true
	// Make the rename itself durable.
	if err := syncDir(root, dir); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: local put %s: %w", key, err)
	}
	return ObjectInfo{
		Key:         key,
		Size:        n,
		ContentType: ct,
		SHA256:      hex.EncodeToString(sum),
		ModTime:     fi.ModTime(),
	}, nil
}

// createTemp creates a fresh temporary file in dir (creating dir first). A
// concurrent Delete may prune dir between MkdirAll and the create, so retry
// a few times on ENOENT.
func createTemp(root *os.Root, dir string) (*os.File, string, error) {
	var lastErr error
	for range 5 {
		if dir != "." {
			if err := root.MkdirAll(dir, 0o750); err != nil {
				return nil, "", err
			}
		}
		var rnd [12]byte
		rand.Read(rnd[:])
		name := path.Join(dir, localTmpPfx+hex.EncodeToString(rnd[:]))
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		lastErr = err
	}
	return nil, "", lastErr
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get implements Store. The returned reader also implements io.Seeker and
// io.ReaderAt over the content (header excluded).
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	f, info, err := l.open(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	hdrLen := info.hdrLen
	return &localObject{SectionReader: io.NewSectionReader(f, hdrLen, info.Size), f: f}, info.ObjectInfo, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	f, info, err := l.open(ctx, key)
	if err != nil {
		return ObjectInfo{}, err
	}
	f.Close()
	return info.ObjectInfo, nil
}

type localInfo struct {
	ObjectInfo
	hdrLen int64
}

// open opens key's file and parses its header.
func (l *Local) open(ctx context.Context, key string) (*os.File, localInfo, error) {
	if err := ValidKey(key); err != nil {
		return nil, localInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, localInfo{}, err
	}
	root, err := l.root()
	if err != nil {
		return nil, localInfo{}, err
	}
	defer root.Close()

	f, err := root.Open(key)
	if err != nil {
		return nil, localInfo{}, mapLocalErr(key, err)
	}
	info, err := readLocalHeader(f, key)
	if err != nil {
		f.Close()
		return nil, localInfo{}, err
	}
	return f, info, nil
}

func readLocalHeader(f *os.File, key string) (localInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return localInfo{}, fmt.Errorf("storage: local %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		// A directory that only exists because of deeper keys is not an object.
		return localInfo{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	var fixed [localFixedHd]byte
	if _, err := io.ReadFull(f, fixed[:]); err != nil {
		return localInfo{}, fmt.Errorf("storage: local %s: corrupt header: %w", key, err)
	}
	if string(fixed[:len(localMagic)]) != localMagic {
		return localInfo{}, fmt.Errorf("storage: local %s: corrupt header: bad magic", key)
	}
	ctLen := int(binary.BigEndian.Uint16(fixed[localFixedHd-2:]))
	ct := make([]byte, ctLen)
	if _, err := io.ReadFull(f, ct); err != nil {
		return localInfo{}, fmt.Errorf("storage: local %s: corrupt header: %w", key, err)
	}
	hdrLen := int64(localFixedHd + ctLen)
	if fi.Size() < hdrLen {
		return localInfo{}, fmt.Errorf("storage: local %s: corrupt header: short file", key)
	}
	return localInfo{
		ObjectInfo: ObjectInfo{
			Key:         key,
			Size:        fi.Size() - hdrLen,
			ContentType: string(ct),
			SHA256:      hex.EncodeToString(fixed[len(localMagic) : len(localMagic)+sha256.Size]),
			ModTime:     fi.ModTime(),
		},
		hdrLen: hdrLen,
	}, nil
}

// localObject hides the header: Read, Seek and ReadAt see only the content.
type localObject struct {
	*io.SectionReader
	f *os.File
}

func (o *localObject) Close() error { return o.f.Close() }

// Delete implements Store. Directories left empty are pruned so that a later
// key may use their name (as it could on S3).
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := l.root()
	if err != nil {
		return err
	}
	defer root.Close()

	fi, err := root.Lstat(key)
	if err != nil {
		return mapLocalErr(key, err)
	}
	if !fi.Mode().IsRegular() {
		// Never let Delete remove a directory (Root.Remove would if empty).
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err := root.Remove(key); err != nil {
		return mapLocalErr(key, err)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		// Fails (and stops) at the first non-empty directory.
		if root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Ping implements Store: the root must be an accessible directory.
func (l *Local) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Stat(l.dir)
	if err != nil {
		return fmt.Errorf("storage: local: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("storage: local: %s is not a directory", l.dir)
	}
	return nil
}

func mapLocalErr(key string, err error) error {
	// ENOTDIR: a prefix of key is a file, so key cannot exist.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("storage: local %s: %w", key, err)
}
