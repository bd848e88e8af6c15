package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/media"
)

// multipartForm is the GraphQL multipart request transport (operations,
// map, then the files). It replaces gqlgen's MultipartForm for two reasons:
//
//   - Files of a request that fits in memory are read into one buffer
//     sized from Content-Length, and each Upload.File exposes its bytes
//     (memFile.Bytes), so a snapshot is held once from the socket to MinIO.
//     gqlgen's io.ReadAll grew a slice from 512 bytes for every file: about
//     twice the file in garbage per upload, on the hottest upload path.
//   - A malformed request is answered like every other bad input: a
//     GraphQL error with extensions.code BAD_USER_INPUT and a message a
//     person understands.
//
// Larger requests spill each file to a temporary file removed after the
// operation.
type multipartForm struct {
	MaxUploadSize int64 // the whole request
	MaxMemory     int64 // requests up to this size are read into memory
}

var _ graphql.Transport = multipartForm{}

func (f multipartForm) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" || r.Method != http.MethodPost {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// memFile is an in-memory upload whose bytes can be taken without a copy.
type memFile struct {
	*bytes.Reader
	b []byte
}

// Bytes returns the bytes not read yet, as bytes.Buffer's does: all of
// them for an upload nobody has read.
func (m memFile) Bytes() []byte { return m.b[len(m.b)-m.Len():] }

func (f multipartForm) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	start := graphql.Now()
	if r.ContentLength > f.MaxUploadSize {
		uploadError(w, f.tooLarge())
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, f.MaxUploadSize)
	defer r.Body.Close()
	fr := formReader{multipartForm: f}
	defer fr.cleanup()
	params, uerr := fr.read(r)
	if uerr != nil {
		uploadError(w, uerr)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	oc, gerr := exec.CreateOperationContext(r.Context(), params)
	if gerr != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(r.Context(), oc), gerr)
		if errcode.GetErrorKind(gerr) == errcode.KindProtocol {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		writeResponse(w, resp)
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), oc)
	writeResponse(w, responses(ctx))
}

// uploadErr is a refused upload request: its HTTP status and message.
type uploadErr struct {
	status int
	msg    string
}

func malformed(msg string) *uploadErr {
	return &uploadErr{http.StatusUnprocessableEntity, "上传请求格式错误：" + msg}
}

func (f multipartForm) tooLarge() *uploadErr {
	return &uploadErr{http.StatusRequestEntityTooLarge, "上传内容过大，不能超过 " + media.SizeLabel(f.MaxUploadSize)}
}

var errUnavailable = &uploadErr{http.StatusServiceUnavailable, "服务器暂时无法接收文件，请稍后重试"}

// formReader reads one request; cleanup removes its temporary files.
type formReader struct {
	multipartForm
	temps []*os.File
}

func (fr *formReader) cleanup() {
	for _, t := range fr.temps {
		_ = t.Close()
		_ = os.Remove(t.Name()) // the spilled file and its reopened copies share it
	}
}

// failed is the refusal for a read error: over the size limit, or msg.
func (fr *formReader) failed(err error, msg string) *uploadErr {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fr.tooLarge()
	}
	return malformed(msg)
}

func (fr *formReader) read(r *http.Request) (*graphql.RawParams, *uploadErr) {
	// A request of known length up to MaxMemory is read whole first, with
	// as few reads as the socket allows: the multipart reader's own buffer
	// reads it 4 KB at a time, a dozen more read system calls for a camera
	// snapshot (measured: 23.5 per upload before, 11.6 after). Its files
	// are then copied to the front of that same buffer (see mem below), so
	// a request costs one allocation of its size.
	inMemory := r.ContentLength >= 0 && r.ContentLength <= fr.MaxMemory
	var mem []byte
	var mr *multipart.Reader
	if inMemory {
		_, ps, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || ps["boundary"] == "" {
			return nil, malformed("不是 multipart/form-data")
		}
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, fr.failed(err, "请求内容不完整")
		}
		mr = multipart.NewReader(bytes.NewReader(body), ps["boundary"])
		// Each file's bytes are written over the request's own bytes, which
		// the multipart reader has always read past: a file byte lands at a
		// position below the one it was read from (the operations, the map
		// and every part header come before it), and the reader reads ahead.
		mem = body[:0]
	} else {
		var err error
		if mr, err = r.MultipartReader(); err != nil {
			return nil, malformed("不是 multipart/form-data")
		}
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "operations" {
		return nil, fr.failed(err, "第一部分必须是 operations")
	}
	params := &graphql.RawParams{}
	if err := decodeJSON(part, params); err != nil {
		return nil, fr.failed(err, "operations 不是有效的 JSON")
	}
	part, err = mr.NextPart()
	if err != nil || part.FormName() != "map" {
		return nil, fr.failed(err, "第二部分必须是 map")
	}
	fileMap := map[string][]string{}
	if err := decodeJSON(part, &fileMap); err != nil {
		return nil, fr.failed(err, "map 不是有效的 JSON")
	}

	// One buffer for every file of a request that fits in memory: the
	// files are smaller than the request, so it never grows.
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fr.failed(err, "无法读取文件部分")
		}
		key := part.FormName()
		paths := fileMap[key]
		if len(paths) == 0 {
			return nil, malformed(fmt.Sprintf("map 中没有文件 %q", key))
		}
		delete(fileMap, key)
		up := graphql.Upload{Filename: part.FileName(), ContentType: part.Header.Get("Content-Type")}
		var open func() (io.ReadSeeker, error)
		if inMemory {
			from := len(mem)
			if mem, err = readInto(mem, part); err != nil {
				return nil, fr.failed(err, "文件不完整")
			}
			b := mem[from:len(mem):len(mem)]
			up.Size = int64(len(b))
			open = func() (io.ReadSeeker, error) { return memFile{bytes.NewReader(b), b}, nil }
		} else {
			t, err := os.CreateTemp("", "kaowu-upload-")
			if err != nil {
				return nil, errUnavailable
			}
			fr.temps = append(fr.temps, t)
			if up.Size, err = io.Copy(t, part); err != nil {
				return nil, fr.failed(err, "文件不完整")
			}
			open = func() (io.ReadSeeker, error) {
				o, err := os.Open(t.Name())
				if err == nil {
					fr.temps = append(fr.temps, o)
				}
				return o, err
			}
		}
		for _, path := range paths {
			file, err := open()
			if err != nil {
				return nil, errUnavailable
			}
			up.File = file
			if gerr := params.AddUpload(up, key, path); gerr != nil {
				return nil, malformed(gerr.Message)
			}
		}
	}
	for key := range fileMap {
		return nil, malformed(fmt.Sprintf("缺少 map 中的文件 %q", key))
	}
	return params, nil
}

// readInto appends r to buf up to its capacity; a reader with more than
// that is an error (a file cannot be longer than its request).
func readInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			var one [1]byte
			if n, _ := io.ReadFull(r, one[:]); n > 0 {
				return buf, io.ErrShortBuffer
			}
			return buf, nil
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// uploadError answers a refused upload request as a GraphQL error.
func uploadError(w http.ResponseWriter, e *uploadErr) {
	w.WriteHeader(e.status)
	writeResponse(w, &graphql.Response{Errors: gqlerror.List{{
		Message:    e.msg,
		Extensions: map[string]any{"code": string(apperr.BadInput)},
	}}})
}

func writeResponse(w io.Writer, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		panic(err) // a Response always marshals
	}
	_, _ = w.Write(b)
}
