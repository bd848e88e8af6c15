// Package media checks uploaded files by their content and makes images fit
// the configured limits.
//
// Only JPEG, PNG and PDF are accepted, whatever the file is called. Inspect
// reads at most a hard cap, recognises the type from the bytes (magic number,
// then image.DecodeConfig for images, so a renamed text file or a PNG claiming
// 100 000 × 100 000 pixels is refused before anything is decoded). Normalize
// then decodes images in full (a file that only looks like an image is
// refused) and re-encodes those that are too large in bytes or pixels, or
// that carry metadata, as JPEG: the old systems refused anything over 100 KB;
// kaowu makes the picture fit instead. PDFs are never rewritten: over the
// limit they are refused.
package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the decoder used by image.DecodeConfig
	_ "image/png"  // registers the decoder used by image.DecodeConfig
	"io"
	"math"
	"strconv"

	"github.com/kaowu/kaowu/internal/apperr"
)

// Kind is the real type of a file, as found in its content.
type Kind string

// Accepted kinds.
const (
	JPEG Kind = "jpeg"
	PNG  Kind = "png"
	PDF  Kind = "pdf"
)

// ContentType is the MIME type stored with the blob and served back.
func (k Kind) ContentType() string {
	switch k {
	case JPEG:
		return "image/jpeg"
	case PNG:
		return "image/png"
	case PDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// Ext is the file extension used in blob keys (without the dot).
func (k Kind) Ext() string {
	switch k {
	case JPEG:
		return "jpg"
	case PNG:
		return "png"
	case PDF:
		return "pdf"
	}
	return "bin"
}

// IsImage reports whether k is a raster image.
func (k Kind) IsImage() bool { return k == JPEG || k == PNG }

// Limits are the configurable bounds of uploads. Zero fields take the
// defaults of DefaultLimits.
type Limits struct {
	// MaxUploadBytes is the most that is read from a client. Larger files
	// are refused whatever their type: this bounds memory per upload.
	MaxUploadBytes int64
	// MaxImageBytes is the largest image stored; larger images are
	// re-encoded (and downscaled if need be) until they fit.
	MaxImageBytes int64
	// MaxPDFBytes is the largest PDF accepted; PDFs are never rewritten.
	MaxPDFBytes int64
	// MaxDimension bounds the longer side of a stored image, in pixels.
	MaxDimension int
	// MaxPixels refuses images with more pixels (decompression bombs, and
	// photos far beyond anything a document needs).
	MaxPixels int64
}

// Defaults.
const (
	DefaultMaxUploadBytes = 20 << 20
	DefaultMaxImageBytes  = 1 << 20
	DefaultMaxPDFBytes    = 5 << 20
	DefaultMaxDimension   = 2000
	DefaultMaxPixels      = 20_000_000
)

// DefaultLimits returns the defaults: 20 MB read, images stored within 1 MB
// and 2000 px, PDFs up to 5 MB, at most 20 megapixels.
func DefaultLimits() Limits {
	return Limits{
		MaxUploadBytes: DefaultMaxUploadBytes,
		MaxImageBytes:  DefaultMaxImageBytes,
		MaxPDFBytes:    DefaultMaxPDFBytes,
		MaxDimension:   DefaultMaxDimension,
		MaxPixels:      DefaultMaxPixels,
	}
}

// WithDefaults fills zero fields from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxUploadBytes <= 0 {
		l.MaxUploadBytes = d.MaxUploadBytes
	}
	if l.MaxImageBytes <= 0 {
		l.MaxImageBytes = d.MaxImageBytes
	}
	if l.MaxPDFBytes <= 0 {
		l.MaxPDFBytes = d.MaxPDFBytes
	}
	if l.MaxDimension <= 0 {
		l.MaxDimension = d.MaxDimension
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// minImageBytes is the smallest image size limit Validate accepts: below it
// even a small JPEG of a document would be unreadable.
const minImageBytes = 32 << 10

// Validate reports limits that cannot work (for configuration checks at
// start-up). Zero fields are valid: they take the defaults.
func (l Limits) Validate() error {
	l = l.WithDefaults()
	var errs []error
	if l.MaxImageBytes < minImageBytes {
		errs = append(errs, fmt.Errorf("media: image limit %d bytes is below %d", l.MaxImageBytes, minImageBytes))
	}
	if l.MaxUploadBytes < l.MaxImageBytes || l.MaxUploadBytes < l.MaxPDFBytes {
		errs = append(errs, errors.New("media: the upload limit must be at least the image and PDF limits"))
	}
	if l.MaxDimension < minSide {
		errs = append(errs, fmt.Errorf("media: max dimension %d is below %d", l.MaxDimension, minSide))
	}
	return errors.Join(errs...)
}

// File is an inspected upload.
type File struct {
	Kind          Kind
	Data          []byte
	Width, Height int // images only
}

// ErrField is the input field named by the errors of this package.
const ErrField = "file"

// Messages shown to users.
const (
	MsgUnsupported = "仅支持 jpg、png、pdf 格式的文件"
	msgEmpty       = "文件为空，请重新选择"
	msgCorrupt     = "图片文件已损坏或无法识别，请重新上传"
	msgPDFCorrupt  = "PDF 文件不完整或已损坏，请重新上传"
	msgReadFailed  = "文件上传不完整，请重新上传"
)

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	pdfMagic  = []byte("%PDF-")
	pdfEOF    = []byte("%%EOF")
)

// pdfTailWindow is how close to the end the %%EOF marker must be (the same
// tolerance Acrobat applies).
const pdfTailWindow = 1024

// Inspect reads r (at most l.MaxUploadBytes) and finds what the file really
// is. It refuses empty and oversized files, anything that is not JPEG, PNG
// or PDF by content, images whose header does not decode or that have more
// than l.MaxPixels pixels, and PDFs without an end-of-file marker. Errors
// are BAD_USER_INPUT on field "file" with a Chinese message, except a failing
// reader, which is reported as such.
func Inspect(r io.Reader, l Limits) (*File, error) {
	return InspectSized(r, -1, l)
}

// InspectSized is Inspect for a body whose size the caller was told
// (size ≥ 0; -1 when unknown): it is read into one buffer of that size
// instead of a growing one (camera snapshots arrive every 20–60 s per
// device), and a body longer or shorter than told is refused.
func InspectSized(r io.Reader, size int64, l Limits) (*File, error) {
	l = l.WithDefaults()
	if size > l.MaxUploadBytes {
		return nil, TooLarge(l.MaxUploadBytes)
	}
	if size < 0 {
		data, err := io.ReadAll(io.LimitReader(r, l.MaxUploadBytes+1))
		if err != nil {
			return nil, apperr.Wrap(err, apperr.BadInput, msgReadFailed).With("field", ErrField)
		}
		if int64(len(data)) > l.MaxUploadBytes {
			return nil, TooLarge(l.MaxUploadBytes)
		}
		return inspectBytes(data, l)
	}
	if b, ok := r.(interface{ Bytes() []byte }); ok && int64(len(b.Bytes())) == size {
		// Already in memory, exactly as declared (the GraphQL upload
		// transport's files, a bytes.Buffer): inspected where it lies.
		return inspectBytes(b.Bytes(), l)
	}
	data := make([]byte, size)
	_, err := io.ReadFull(r, data)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) { // shorter than told
		return nil, apperr.Input(ErrField, msgReadFailed)
	}
	if err != nil {
		return nil, apperr.Wrap(err, apperr.BadInput, msgReadFailed).With("field", ErrField)
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 { // longer than told
		return nil, apperr.Input(ErrField, msgReadFailed)
	}
	return inspectBytes(data, l)
}

// TooLarge is the error for a file over the upload cap (also returned by
// callers that know the declared size before reading).
func TooLarge(limit int64) error {
	return apperr.Input(ErrField, "文件过大，不能超过 "+SizeLabel(limit))
}

func inspectBytes(data []byte, l Limits) (*File, error) {
	if len(data) == 0 {
		return nil, apperr.Input(ErrField, msgEmpty)
	}
	var kind Kind
	switch {
	case bytes.HasPrefix(data, jpegMagic):
		kind = JPEG
	case bytes.HasPrefix(data, pngMagic):
		kind = PNG
	case bytes.HasPrefix(data, pdfMagic):
		tail := bytes.TrimRight(data[max(0, len(data)-pdfTailWindow):], " \t\r\n\x00")
		if !bytes.Contains(tail, pdfEOF) {
			return nil, apperr.Input(ErrField, msgPDFCorrupt)
		}
		return &File{Kind: PDF, Data: data}, nil
	default:
		return nil, apperr.Input(ErrField, MsgUnsupported)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || Kind(format) != kind {
		return nil, apperr.Input(ErrField, msgCorrupt)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, apperr.Input(ErrField, msgCorrupt)
	}
	if int64(cfg.Width)*int64(cfg.Height) > l.MaxPixels {
		return nil, apperr.Input(ErrField, fmt.Sprintf("图片像素过多（%d×%d），不能超过 %s 像素，请缩小后再上传",
			cfg.Width, cfg.Height, pixelLabel(l.MaxPixels)))
	}
	return &File{Kind: kind, Data: data, Width: cfg.Width, Height: cfg.Height}, nil
}

// SizeLabel formats a byte count for messages: "1 MB", "1.5 MB", "100 KB"
// (rounded down, so a limit is never shown larger than it is).
func SizeLabel(n int64) string {
	const kb, mb = 1 << 10, 1 << 20
	switch {
	case n >= mb:
		return strconv.FormatFloat(math.Floor(float64(n)*10/mb)/10, 'f', -1, 64) + " MB"
	case n >= kb:
		return strconv.FormatInt(n/kb, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " 字节"
}

// pixelLabel formats a pixel count in 万 (10 000), as Chinese users read it.
func pixelLabel(n int64) string {
	if n >= 10_000 && n%10_000 == 0 {
		return strconv.FormatInt(n/10_000, 10) + " 万"
	}
	return strconv.FormatInt(n, 10)
}
