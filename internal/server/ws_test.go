package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.uber.org/goleak"

	"github.com/kaowu/kaowu/internal/apperr"
)

// streamExec stands in for the schema. Its operations, by query:
//
//	"count N"  N results {"n":i}, then the end
//	"forever"  a result every 5 ms until cancelled
//	"big"      64 KiB results as fast as they can be sent
//	"invalid"  refused as not a valid operation (protocol error)
//	"refused"  refused with a user error (BAD_USER_INPUT)
//	"partial"  one result with data, an error and extensions
//	"panic"    panics while producing its first result
//	"vars"     one result naming the Go type of variable n
type streamExec struct{ running atomic.Int64 }

func (x *streamExec) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	oc := &graphql.OperationContext{RawQuery: p.Query, Variables: p.Variables,
		RecoverFunc: func(_ context.Context, v any) error { return fmt.Errorf("recovered: %v", v) }}
	switch p.Query {
	case "invalid":
		return oc, gqlerror.List{{Message: "Cannot query field", Extensions: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}}
	case "refused":
		return oc, gqlerror.List{{Message: "first 必须在0到1000之间", Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}
	}
	return oc, nil
}

func (x *streamExec) DispatchOperation(ctx context.Context, oc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	// Running until its context ends, as a subscription resolver is.
	x.running.Add(1)
	context.AfterFunc(ctx, func() { x.running.Add(-1) })
	n, i := 0, 0
	_, _ = fmt.Sscanf(oc.RawQuery, "count %d", &n)
	return func(ctx context.Context) *graphql.Response {
		i++
		switch {
		case strings.HasPrefix(oc.RawQuery, "count") && i <= n:
			return &graphql.Response{Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
		case oc.RawQuery == "forever":
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
				return &graphql.Response{Data: json.RawMessage(`{"tick":true}`)}
			}
		case oc.RawQuery == "big" && ctx.Err() == nil:
			return &graphql.Response{Data: json.RawMessage(`{"s":"` + strings.Repeat("x", 64<<10) + `"}`)}
		case oc.RawQuery == "partial" && i == 1:
			return &graphql.Response{Data: json.RawMessage(`{"a":null}`),
				Errors: gqlerror.List{{Message: "记录不存在", Extensions: map[string]any{"code": "NOT_FOUND"}}}, Extensions: map[string]any{"cost": 3}}
		case oc.RawQuery == "vars" && i == 1:
			return &graphql.Response{Data: json.RawMessage(fmt.Sprintf(`{"n":"%T"}`, oc.Variables["n"]))}
		case oc.RawQuery == "panic":
			panic("boom")
		}
		return nil
	}, ctx
}

func (x *streamExec) DispatchError(_ context.Context, list gqlerror.List) *graphql.Response {
	return &graphql.Response{Errors: list}
}

type wsHarness struct {
	t    *testing.T
	url  string
	exec *streamExec
	done chan struct{} // one value per connection the transport finished
}

func newWSHarness(t *testing.T, tr wsTransport) *wsHarness {
	h := &wsHarness{t: t, exec: &streamExec{}, done: make(chan struct{}, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.Do(w, r, h.exec)
		h.done <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	h.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return h
}

func (h *wsHarness) dial(protocols ...string) *websocket.Conn {
	h.t.Helper()
	if protocols == nil {
		protocols = []string{wsProtocol}
	}
	c, _, err := websocket.Dial(context.Background(), h.url, &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

func (h *wsHarness) send(c *websocket.Conn, msg string) {
	h.t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(msg)); err != nil {
		h.t.Fatal(err)
	}
}

// read returns the next message, or the close code that ended the
// connection (0 for none).
func (h *wsHarness) read(c *websocket.Conn) (string, websocket.StatusCode) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		code := websocket.CloseStatus(err)
		if code == -1 {
			h.t.Fatalf("read: %v", err)
		}
		return "", code
	}
	return string(b), 0
}

func (h *wsHarness) want(c *websocket.Conn, msg string) {
	h.t.Helper()
	if got, code := h.read(c); got != msg {
		h.t.Fatalf("got %q (close %d), want %q", got, code, msg)
	}
}

func (h *wsHarness) wantClose(c *websocket.Conn, code websocket.StatusCode) {
	h.t.Helper()
	for {
		got, c2 := h.read(c)
		if c2 != 0 {
			if c2 != code {
				h.t.Fatalf("closed with %d, want %d", c2, code)
			}
			return
		}
		if strings.Contains(got, `"ping"`) {
			continue
		}
		h.t.Fatalf("got %q, want close %d", got, code)
	}
}

func (h *wsHarness) initialised() *websocket.Conn {
	h.t.Helper()
	c := h.dial()
	h.send(c, `{"type":"connection_init","payload":{"Authorization":"Bearer ok"}}`)
	h.want(c, `{"type":"connection_ack"}`)
	return c
}

func TestWebsocketProtocol(t *testing.T) {
	// Registered first, so it runs after every other cleanup (the test
	// servers and client connections).
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	tr := wsTransport{InitTimeout: 200 * time.Millisecond,
		InitFunc: func(ctx context.Context, p map[string]any) (context.Context, error) {
			switch initAuthorization(p) {
			case "Bearer ok", "":
				return ctx, nil
			case "Bearer expired":
				return ctx, apperr.New(apperr.Unauthenticated, "登录已失效，请重新登录")
			}
			return ctx, apperr.New(apperr.Forbidden, "没有权限")
		}}
	h := newWSHarness(t, tr)

	t.Run("results are framed as the executor wrote them, then complete", func(t *testing.T) {
		c := h.initialised()
		h.send(c, `{"id":"a\"1","type":"subscribe","payload":{"query":"count 2"}}`)
		h.want(c, `{"id":"a\"1","type":"next","payload":{"data":{"n":1}}}`)
		h.want(c, `{"id":"a\"1","type":"next","payload":{"data":{"n":2}}}`)
		h.want(c, `{"id":"a\"1","type":"complete"}`)
		h.send(c, `{"type":"ping","payload":{"x":1}}`)
		h.want(c, `{"type":"pong"}`)
		// Numbers stay numbers (json.Number), as on HTTP, for Int variables.
		h.send(c, `{"id":"v","type":"subscribe","payload":{"query":"vars","variables":{"n":3}}}`)
		h.want(c, `{"id":"v","type":"next","payload":{"data":{"n":"json.Number"}}}`)
		h.want(c, `{"id":"v","type":"complete"}`)
	})

	t.Run("errors and extensions travel with the data", func(t *testing.T) {
		c := h.initialised()
		h.send(c, `{"id":"p","type":"subscribe","payload":{"query":"partial"}}`)
		got, _ := h.read(c)
		var m struct {
			ID, Type string
			Payload  struct {
				Data       map[string]any
				Errors     []map[string]any
				Extensions map[string]any
			}
		}
		if err := json.Unmarshal([]byte(got), &m); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if m.Type != "next" || m.ID != "p" || len(m.Payload.Errors) != 1 || m.Payload.Errors[0]["message"] != "记录不存在" ||
			m.Payload.Extensions["cost"] != 3.0 || m.Payload.Data == nil {
			t.Fatalf("got %s", got)
		}
		h.want(c, `{"id":"p","type":"complete"}`)
	})

	t.Run("an invalid operation is an error message; a refused one a result", func(t *testing.T) {
		c := h.initialised()
		h.send(c, `{"id":"1","type":"subscribe","payload":{"query":"invalid"}}`)
		h.want(c, `{"id":"1","type":"error","payload":[{"message":"Cannot query field","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`)
		h.send(c, `{"id":"2","type":"subscribe","payload":{"query":"refused"}}`)
		h.want(c, `{"id":"2","type":"next","payload":{"data":null,"errors":[{"message":"first 必须在0到1000之间","extensions":{"code":"BAD_USER_INPUT"}}]}}`)
		h.want(c, `{"id":"2","type":"complete"}`)
		h.send(c, `{"id":"3","type":"subscribe","payload":{"query":"panic"}}`)
		h.want(c, `{"id":"3","type":"error","payload":[{"message":"recovered: boom"}]}`)
		// The connection survives all three.
		h.send(c, `{"id":"4","type":"subscribe","payload":{"query":"count 1"}}`)
		h.want(c, `{"id":"4","type":"next","payload":{"data":{"n":1}}}`)
		h.want(c, `{"id":"4","type":"complete"}`)
	})

	t.Run("the client's complete stops the operation, and its id is free again", func(t *testing.T) {
		c := h.initialised()
		h.send(c, `{"id":"f","type":"subscribe","payload":{"query":"forever"}}`)
		h.want(c, `{"id":"f","type":"next","payload":{"data":{"tick":true}}}`)
		h.send(c, `{"id":"f","type":"complete"}`)
		deadline := time.Now().Add(5 * time.Second)
		for h.exec.running.Load() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("operation still running after complete")
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Ticks already sent may still arrive; no complete comes back.
		h.send(c, `{"id":"f","type":"subscribe","payload":{"query":"count 1"}}`)
		for {
			got, _ := h.read(c)
			if got == `{"id":"f","type":"next","payload":{"data":{"tick":true}}}` {
				continue
			}
			if got != `{"id":"f","type":"next","payload":{"data":{"n":1}}}` {
				t.Fatalf("got %q after complete", got)
			}
			break
		}
		h.want(c, `{"id":"f","type":"complete"}`)
	})

	for name, tc := range map[string]struct {
		init, then string
		code       websocket.StatusCode
	}{
		"subscribe before connection_init": {`{"id":"1","type":"subscribe","payload":{"query":"count 1"}}`, "", closeUnauthorized},
		"a second connection_init":         {`{"type":"connection_init"}`, `{"type":"connection_init"}`, closeTooManyInits},
		"a message that is not JSON":       {`{"type":"connection_init"}`, `{"type":`, closeBadRequest},
		"an unknown message type":          {`{"type":"connection_init"}`, `{"type":"start","id":"1"}`, closeBadRequest},
		"a long unknown message type":      {`{"type":"connection_init"}`, `{"type":"` + strings.Repeat("说", 100) + `"}`, closeBadRequest},
		"subscribe without an id":          {`{"type":"connection_init"}`, `{"type":"subscribe","payload":{"query":"count 1"}}`, closeBadRequest},
		"an expired token":                 {`{"type":"connection_init","payload":{"Authorization":"Bearer expired"}}`, "", closeUnauthorized},
		"a token without the right":        {`{"type":"connection_init","payload":{"authorization":"Bearer other"}}`, "", closeForbidden},
	} {
		t.Run("closed: "+name, func(t *testing.T) {
			c := h.dial()
			h.send(c, tc.init)
			if tc.then != "" {
				h.want(c, `{"type":"connection_ack"}`)
				h.send(c, tc.then)
			}
			h.wantClose(c, tc.code)
		})
	}

	t.Run("closed: the same id twice", func(t *testing.T) {
		c := h.initialised()
		h.send(c, `{"id":"x","type":"subscribe","payload":{"query":"forever"}}`)
		h.send(c, `{"id":"x","type":"subscribe","payload":{"query":"forever"}}`)
		for {
			got, code := h.read(c)
			if code != 0 {
				if code != closeSubscriberExists {
					t.Fatalf("closed with %d", code)
				}
				break
			}
			if !strings.Contains(got, "tick") {
				t.Fatalf("got %q", got)
			}
		}
	})

	t.Run("closed: no connection_init in time", func(t *testing.T) {
		h.wantClose(h.dial(), closeInitTimeout)
	})

	t.Run("refused: another subprotocol", func(t *testing.T) {
		h.wantClose(h.dial("graphql-ws"), closeSubprotocol)
	})
}

func TestWebsocketKeepAliveAndStuckClients(t *testing.T) {
	// Registered first, so it runs after every other cleanup (the test
	// servers and client connections).
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	h := newWSHarness(t, wsTransport{PingInterval: 20 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})

	t.Run("the server pings", func(t *testing.T) {
		c := h.initialised()
		h.want(c, `{"type":"ping"}`)
		c.Close(websocket.StatusNormalClosure, "")
		<-h.done
	})

	t.Run("a client that stops reading is disconnected", func(t *testing.T) {
		c := h.initialised()
		h.send(c, `{"id":"b","type":"subscribe","payload":{"query":"big"}}`)
		// Never read again: once the socket buffers are full, a write waits
		// past WriteTimeout and the server ends the connection.
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Fatal("a client that stopped reading was kept")
		}
		if n := h.exec.running.Load(); n != 0 {
			t.Fatalf("%d operations still running", n)
		}
	})
}

// initAuthorization reads either spelling; anything else is no token.
func TestInitAuthorization(t *testing.T) {
	for _, tc := range []struct {
		p    map[string]any
		want string
	}{
		{map[string]any{"Authorization": "Bearer a"}, "Bearer a"},
		{map[string]any{"authorization": "Bearer b"}, "Bearer b"},
		{map[string]any{"Authorization": 7}, ""},
		{nil, ""},
	} {
		if got := initAuthorization(tc.p); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.p, got, tc.want)
		}
	}
	if r := closeReason(strings.Repeat("说", 60)); len(r) > 123 || !strings.HasPrefix(strings.Repeat("说", 60), r) {
		t.Errorf("close reason of %d bytes", len(r))
	}

}
