package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// echoExec stands in for the schema: it answers with what the operation's
// upload variables hold, read through the files as a resolver would.
type echoExec struct{ readErr error }

func (echoExec) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	if p.Query == "" {
		return &graphql.OperationContext{}, gqlerror.List{{Message: "no query"}}
	}
	return &graphql.OperationContext{RawQuery: p.Query, Variables: p.Variables}, nil
}

func (echoExec) DispatchOperation(ctx context.Context, oc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case graphql.Upload:
			b, err := io.ReadAll(x.File)
			if err != nil {
				out[path] = "error: " + err.Error()
				return
			}
			out[path] = fmt.Sprintf("%s %s %d %q", x.Filename, x.ContentType, x.Size, b)
		case map[string]any:
			for k, v := range x {
				walk(path+"."+k, v)
			}
		case []any:
			for i, v := range x {
				walk(fmt.Sprintf("%s.%d", path, i), v)
			}
		}
	}
	walk("variables", oc.Variables)
	if n, ok := oc.Variables["n"]; ok {
		out["n"] = fmt.Sprintf("%T", n)
	}
	data, _ := json.Marshal(out)
	return func(context.Context) *graphql.Response { return &graphql.Response{Data: data} }, ctx
}

func (echoExec) DispatchError(_ context.Context, list gqlerror.List) *graphql.Response {
	return &graphql.Response{Errors: list}
}

type formPart struct {
	name, filename string
	body           []byte
}

func multipartBody(t *testing.T, parts ...formPart) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var fw io.Writer
		var err error
		if p.filename != "" {
			fw, err = w.CreateFormFile(p.name, p.filename)
		} else {
			fw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(p.body)
	}
	_ = w.Close()
	return &b, w.FormDataContentType()
}

type uploadAnswer struct {
	status int
	data   map[string]string
	errors []struct {
		Message    string
		Extensions map[string]any
	}
}

func postForm(t *testing.T, f multipartForm, body io.Reader, ct string, length int64) uploadAnswer {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/graphql", body)
	r.Header.Set("Content-Type", ct)
	r.ContentLength = length
	if !f.Supports(r) {
		t.Fatal("multipart request not supported")
	}
	w := httptest.NewRecorder()
	f.Do(w, r, echoExec{})
	var res struct {
		Data   map[string]string
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatalf("answer %d is not JSON: %s", w.Code, w.Body)
	}
	return uploadAnswer{w.Code, res.Data, res.Errors}
}

const ops = `{"query":"mutation($f:Upload!,$g:[Upload!]!){x}","variables":{"f":null,"g":[null,null]}}`

func TestMultipartUploads(t *testing.T) {
	jpeg := bytes.Repeat([]byte{0xff, 0xd8, 'x'}, 1000)
	good := []formPart{
		{"operations", "", []byte(ops)},
		{"map", "", []byte(`{"0":["variables.f","variables.g.1"],"1":["variables.g.0"]}`)},
		{"0", "a.jpg", jpeg},
		{"1", "b.txt", []byte("second")},
	}
	want := map[string]string{
		"variables.f":   fmt.Sprintf("a.jpg application/octet-stream %d %q", len(jpeg), jpeg),
		"variables.g.1": fmt.Sprintf("a.jpg application/octet-stream %d %q", len(jpeg), jpeg),
		"variables.g.0": `b.txt application/octet-stream 6 "second"`,
	}
	for _, tc := range []struct {
		name      string
		maxMemory int64
		chunked   bool // no Content-Length: spilled to disk
	}{
		{"in memory", 4 << 20, false},
		{"spilled to temporary files (over MaxMemory)", 100, false},
		{"spilled to temporary files (no Content-Length)", 4 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := filepath.Glob(filepath.Join(os.TempDir(), "kaowu-upload-*"))
			body, ct := multipartBody(t, good...)
			length := int64(body.Len())
			if tc.chunked {
				length = -1
			}
			a := postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: tc.maxMemory}, body, ct, length)
			if a.status != http.StatusOK || len(a.errors) > 0 {
				t.Fatalf("HTTP %d %+v", a.status, a.errors)
			}
			for k, v := range want {
				if a.data[k] != v {
					t.Errorf("%s = %.80s, want %.80s", k, a.data[k], v)
				}
			}
			after, _ := filepath.Glob(filepath.Join(os.TempDir(), "kaowu-upload-*"))
			if len(after) > len(before) {
				t.Errorf("temporary files left behind: %v", after)
			}
		})
	}

	t.Run("in-memory files hand over their bytes without a copy", func(t *testing.T) {
		body, ct := multipartBody(t, good...)
		r := httptest.NewRequest(http.MethodPost, "/graphql", body)
		r.Header.Set("Content-Type", ct)
		fr := formReader{multipartForm: multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}}
		defer fr.cleanup()
		p, uerr := fr.read(r)
		if uerr != nil {
			t.Fatal(uerr.msg)
		}
		up := p.Variables["f"].(graphql.Upload)
		b, ok := up.File.(interface{ Bytes() []byte })
		if !ok || !bytes.Equal(b.Bytes(), jpeg) || int64(len(b.Bytes())) != up.Size {
			t.Fatalf("in-memory upload does not expose its %d bytes", len(jpeg))
		}
		// The two paths of one file read independently.
		g := p.Variables["g"].([]any)[1].(graphql.Upload)
		if _, _ = io.ReadAll(up.File); len(b.Bytes()) != 0 {
			t.Fatal("Bytes after a full read should be empty (unread bytes, as bytes.Buffer)")
		}
		if rest, _ := io.ReadAll(g.File); !bytes.Equal(rest, jpeg) {
			t.Fatal("second path of the same file shares the first one's position")
		}
	})

	t.Run("in-memory files larger than the reader's buffer keep every byte", func(t *testing.T) {
		// The files are copied over the request's own bytes (read ahead by
		// the multipart reader); files of several of its 4 KB buffers each,
		// with no repeating pattern, show that nothing unread is overwritten.
		rnd := mrand.New(mrand.NewPCG(4, 2))
		files := [][]byte{make([]byte, 70_000), make([]byte, 1), make([]byte, 9_999), make([]byte, 4096)}
		for _, f := range files {
			for i := range f {
				f[i] = byte(rnd.Uint32())
			}
		}
		parts := []formPart{
			{"operations", "", []byte(`{"query":"q","variables":{"g":[null,null,null,null]}}`)},
			{"map", "", []byte(`{"0":["variables.g.0"],"1":["variables.g.1"],"2":["variables.g.2"],"3":["variables.g.3"]}`)},
		}
		for i, f := range files {
			parts = append(parts, formPart{fmt.Sprint(i), fmt.Sprintf("f%d.bin", i), f})
		}
		body, ct := multipartBody(t, parts...)
		a := postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}, body, ct, int64(body.Len()))
		if a.status != http.StatusOK || len(a.errors) > 0 {
			t.Fatalf("HTTP %d %+v", a.status, a.errors)
		}
		for i, f := range files {
			want := fmt.Sprintf("f%d.bin application/octet-stream %d %q", i, len(f), f)
			if got := a.data[fmt.Sprintf("variables.g.%d", i)]; got != want {
				t.Errorf("file %d (%d bytes) came back altered", i, len(f))
			}
		}
	})

	t.Run("refused: a body shorter than its Content-Length", func(t *testing.T) {
		body, ct := multipartBody(t, good...)
		n := int64(body.Len())
		short := bytes.NewReader(body.Bytes()[:n-10])
		wantRefusal(t, postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}, short, ct, n), 422, "请求内容不完整")
	})

	t.Run("refused: multipart without a boundary", func(t *testing.T) {
		body, _ := multipartBody(t, good...)
		wantRefusal(t, postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}, body, "multipart/form-data", int64(body.Len())), 422, "不是 multipart/form-data")
	})

	t.Run("a request over MaxMemory is spilled to disk and removed after", func(t *testing.T) {
		body, ct := multipartBody(t, good...)
		r := httptest.NewRequest(http.MethodPost, "/graphql", body)
		r.Header.Set("Content-Type", ct)
		fr := formReader{multipartForm: multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 100}}
		p, uerr := fr.read(r)
		if uerr != nil {
			t.Fatal(uerr.msg)
		}
		f, ok := p.Variables["f"].(graphql.Upload).File.(*os.File)
		if !ok {
			t.Fatalf("upload over MaxMemory held as %T", p.Variables["f"].(graphql.Upload).File)
		}
		fr.cleanup()
		if _, err := os.Stat(f.Name()); !os.IsNotExist(err) {
			t.Fatalf("temporary file %s not removed: %v", f.Name(), err)
		}
	})

	refused := []struct {
		name   string
		parts  []formPart
		status int
		msg    string
	}{
		{"operations missing", []formPart{{"map", "", []byte(`{}`)}}, 422, "第一部分必须是 operations"},
		{"operations not JSON", []formPart{{"operations", "", []byte(`{`)}, {"map", "", []byte(`{}`)}}, 422, "operations 不是有效的 JSON"},
		{"map missing", []formPart{{"operations", "", []byte(ops)}, {"0", "a.jpg", jpeg}}, 422, "第二部分必须是 map"},
		{"map not JSON", []formPart{{"operations", "", []byte(ops)}, {"map", "", []byte(`[`)}}, 422, "map 不是有效的 JSON"},
		{"a file the map does not name", []formPart{{"operations", "", []byte(ops)}, {"map", "", []byte(`{}`)}, {"0", "a.jpg", jpeg}}, 422, `map 中没有文件 "0"`},
		{"a file the map names is missing", []formPart{{"operations", "", []byte(ops)}, {"map", "", []byte(`{"0":["variables.f"]}`)}}, 422, `缺少 map 中的文件 "0"`},
		{"a path that is not a variable", []formPart{{"operations", "", []byte(ops)}, {"map", "", []byte(`{"0":["variables.nope.x"]}`)}, {"0", "a.jpg", jpeg}}, 422, "上传请求格式错误"},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			body, ct := multipartBody(t, tc.parts...)
			a := postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}, body, ct, int64(body.Len()))
			wantRefusal(t, a, tc.status, tc.msg)
		})
	}

	t.Run("refused: over the size limit, declared or not", func(t *testing.T) {
		f := multipartForm{MaxUploadSize: 1000, MaxMemory: 4 << 20}
		body, ct := multipartBody(t, good...)
		n := int64(body.Len())
		wantRefusal(t, postForm(t, f, bytes.NewReader(body.Bytes()), ct, n), http.StatusRequestEntityTooLarge, "上传内容过大")
		wantRefusal(t, postForm(t, f, bytes.NewReader(body.Bytes()), ct, -1), http.StatusRequestEntityTooLarge, "上传内容过大")
	})

	t.Run("numbers in operations stay numbers (json.Number), as on POST", func(t *testing.T) {
		body, ct := multipartBody(t, formPart{"operations", "", []byte(`{"query":"q","variables":{"n":3}}`)}, formPart{"map", "", []byte(`{}`)})
		a := postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}, body, ct, int64(body.Len()))
		if a.data["n"] != "json.Number" {
			t.Fatalf("variable n decoded as %s", a.data["n"])
		}
	})

	t.Run("an operation the executor refuses answers its errors", func(t *testing.T) {
		body, ct := multipartBody(t, formPart{"operations", "", []byte(`{"query":""}`)}, formPart{"map", "", []byte(`{}`)})
		a := postForm(t, multipartForm{MaxUploadSize: 1 << 20, MaxMemory: 4 << 20}, body, ct, int64(body.Len()))
		if len(a.errors) != 1 || a.errors[0].Message != "no query" {
			t.Fatalf("HTTP %d %+v", a.status, a.errors)
		}
	})
}

func wantRefusal(t *testing.T, a uploadAnswer, status int, msg string) {
	t.Helper()
	if a.status != status || len(a.errors) != 1 || !strings.Contains(a.errors[0].Message, msg) ||
		a.errors[0].Extensions["code"] != "BAD_USER_INPUT" || a.data != nil {
		t.Fatalf("HTTP %d %+v data %v, want %d %q BAD_USER_INPUT", a.status, a.errors, a.data, status, msg)
	}
}

func TestReadInto(t *testing.T) {
	buf, err := readInto(make([]byte, 2, 10), strings.NewReader("abcdef"))
	if err != nil || string(buf[2:]) != "abcdef" {
		t.Fatalf("%q %v", buf, err)
	}
	buf, err = readInto(make([]byte, 0, 6), strings.NewReader("abcdef"))
	if err != nil || string(buf) != "abcdef" {
		t.Fatalf("exactly full: %q %v", buf, err)
	}
	if _, err := readInto(make([]byte, 0, 5), strings.NewReader("abcdef")); err == nil {
		t.Fatal("a reader longer than the buffer was taken")
	}
}
