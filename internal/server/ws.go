package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kaowu/kaowu/internal/apperr"
)

// wsProtocol is the one subprotocol spoken: graphql-transport-ws, the
// protocol of the graphql-ws library (the web client, the proctor
// dashboard and the phone page all use it).
const wsProtocol = "graphql-transport-ws"

// Close codes of graphql-transport-ws.
const (
	closeBadRequest       websocket.StatusCode = 4400
	closeUnauthorized     websocket.StatusCode = 4401
	closeForbidden        websocket.StatusCode = 4403
	closeSubprotocol      websocket.StatusCode = 4406
	closeInitTimeout      websocket.StatusCode = 4408
	closeSubscriberExists websocket.StatusCode = 4409
	closeTooManyInits     websocket.StatusCode = 4429
)

// wsTransport serves GraphQL over graphql-transport-ws on coder/websocket.
//
// It replaces gqlgen's websocket transport for one reason: a subscription
// result is sent as the bytes gqlgen's executor produced, framed once.
// gqlgen's transport marshals every result again (re-validating and
// compacting the data it had just written), which was a fifth of the
// server's CPU per delivery to a proctor dashboard — where one snapshot
// event goes to every watcher of a session.
type wsTransport struct {
	// AcceptOptions are coder/websocket's (origin patterns); the
	// subprotocol is set here.
	AcceptOptions websocket.AcceptOptions
	// InitFunc admits a connection from its connection_init payload (the
	// bearer token); an error closes it with 4403.
	InitFunc func(ctx context.Context, payload map[string]any) (context.Context, error)
	// InitTimeout bounds the wait for connection_init (default 10 s).
	InitTimeout time.Duration
	// PingInterval is how often the server pings an idle-looking client so
	// proxies keep the connection (0: never).
	PingInterval time.Duration
	// ReadLimit caps one client message (default 1 MiB).
	ReadLimit int64
	// WriteTimeout bounds one message to a slow client; a client that
	// cannot take a message in that time is disconnected (default 15 s).
	// The keep-alive checks it, so it holds only with a PingInterval.
	WriteTimeout time.Duration
}

var _ graphql.Transport = wsTransport{}

func (t wsTransport) Supports(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// wsMessage is a graphql-transport-ws message as received.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	opts := t.AcceptOptions
	opts.Subprotocols = []string{wsProtocol}
	conn, err := websocket.Accept(w, r, &opts)
	if err != nil {
		return // Accept has answered the request
	}
	if conn.Subprotocol() != wsProtocol {
		_ = conn.Close(closeSubprotocol, "Subprotocol not acceptable")
		return
	}
	conn.SetReadLimit(orDefault(t.ReadLimit, 1<<20))
	ctx, cancel := context.WithCancel(r.Context())
	s := &wsSession{t: t, conn: conn, exec: exec, headers: r.Header, ctx: ctx, cancel: cancel, ops: map[string]*wsOp{}}
	s.serve()
}

// orDefault returns v, or def when v is not positive.
func orDefault[T int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// wsSession is one connection.
type wsSession struct {
	t       wsTransport
	conn    *websocket.Conn
	exec    graphql.GraphExecutor
	headers http.Header

	ctx    context.Context // the connection's; after init it carries the viewer
	cancel context.CancelFunc

	mu  sync.Mutex
	ops map[string]*wsOp // running operations by client id
	wg  sync.WaitGroup   // their goroutines

	// writeSince is when the write in progress started (UnixNano; 0: none),
	// for the keep-alive's check on clients that stopped reading.
	writeSince atomic.Int64
}

type wsOp struct {
	cancel    context.CancelFunc
	completed bool   // the client completed it: no complete is sent back
	next      []byte // {"id":…,"type":"next","payload": — framed once
}

// serve runs the connection: connection_init, then operations until the
// client leaves, breaks the protocol or the server shuts down. Every
// operation is cancelled and waited for before it returns.
func (s *wsSession) serve() {
	// In this order: cancel the operations, drop the connection (so a
	// write blocked on a client that stopped reading returns), wait for them.
	defer s.wg.Wait()
	defer s.conn.CloseNow()
	defer s.cancel()
	if code, reason := s.init(); code != 0 {
		if code > 0 {
			_ = s.conn.Close(code, reason)
		}
		return
	}
	if s.t.PingInterval > 0 {
		s.wg.Add(1)
		go s.keepAlive()
	}
	for {
		_, data, err := s.conn.Read(s.ctx)
		if err != nil {
			return
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			_ = s.conn.Close(closeBadRequest, "Invalid message received")
			return
		}
		switch m.Type {
		case "ping":
			s.write(frame("pong", "", nil))
		case "pong":
		case "subscribe":
			if code, reason := s.subscribe(m); code != 0 {
				_ = s.conn.Close(code, closeReason(reason))
				return
			}
		case "complete":
			// The id is free again at once: the client may reuse it.
			s.mu.Lock()
			op := s.ops[m.ID]
			if op != nil {
				op.completed = true
				delete(s.ops, m.ID)
			}
			s.mu.Unlock()
			if op != nil {
				op.cancel()
			}
		case "connection_init":
			_ = s.conn.Close(closeTooManyInits, "Too many initialisation requests")
			return
		default:
			_ = s.conn.Close(closeBadRequest, closeReason(fmt.Sprintf("Invalid message type %q", m.Type)))
			return
		}
	}
}

// init waits for connection_init and admits the connection. A positive
// code is the close code that refuses it; -1 means the connection is gone.
func (s *wsSession) init() (websocket.StatusCode, string) {
	// A read whose context expires drops the connection without a close
	// frame, so the timeout closes it properly from a timer instead.
	closed := make(chan struct{})
	timer := time.AfterFunc(orDefault(s.t.InitTimeout, 10*time.Second), func() {
		defer close(closed)
		_ = s.conn.Close(closeInitTimeout, "Connection initialisation timeout")
	})
	_, data, err := s.conn.Read(s.ctx)
	if !timer.Stop() {
		<-closed
		return -1, "" // closed by the timer
	}
	if err != nil {
		return -1, "" // the client left
	}
	var m wsMessage
	if json.Unmarshal(data, &m) != nil {
		return closeBadRequest, "Invalid message received"
	}
	switch m.Type {
	case "connection_init":
	case "subscribe":
		return closeUnauthorized, "Unauthorized"
	default:
		return closeBadRequest, closeReason(fmt.Sprintf("Invalid message type %q before connection_init", m.Type))
	}
	var payload map[string]any
	if len(m.Payload) > 0 && string(m.Payload) != "null" && json.Unmarshal(m.Payload, &payload) != nil {
		return closeBadRequest, "Invalid connection_init payload"
	}
	if s.t.InitFunc != nil {
		ctx, err := s.t.InitFunc(s.ctx, payload)
		if err != nil {
			code, msg, _ := classify(s.ctx, err)
			if code == apperr.Unauthenticated {
				return closeUnauthorized, closeReason(msg)
			}
			return closeForbidden, closeReason(msg)
		}
		s.ctx = ctx
	}
	if !s.write(frame("connection_ack", "", nil)) {
		return -1, ""
	}
	return 0, ""
}

// keepAlive pings the client every PingInterval and disconnects it when a
// message has waited longer than WriteTimeout to be taken: a client that
// stopped reading must not hold its operations (and their goroutines).
func (s *wsSession) keepAlive() {
	defer s.wg.Done()
	tick := time.NewTicker(s.t.PingInterval)
	defer tick.Stop()
	timeout := orDefault(s.t.WriteTimeout, 15*time.Second)
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			if t := s.writeSince.Load(); t != 0 && now.Sub(time.Unix(0, t)) > timeout {
				s.cancel()
				_ = s.conn.CloseNow()
				return
			}
			s.wg.Add(1)
			go func() { // not to hold the check up behind a stuck write
				defer s.wg.Done()
				s.write(frame("ping", "", nil))
			}()
		}
	}
}

// subscribe starts an operation; a non-zero code closes the connection.
func (s *wsSession) subscribe(m wsMessage) (websocket.StatusCode, string) {
	if m.ID == "" {
		return closeBadRequest, "Subscribe without an id"
	}
	var params graphql.RawParams
	if err := decodeJSON(bytes.NewReader(m.Payload), &params); err != nil || len(m.Payload) == 0 {
		return closeBadRequest, "Invalid subscribe payload"
	}
	s.mu.Lock()
	if s.ops[m.ID] != nil {
		s.mu.Unlock()
		return closeSubscriberExists, fmt.Sprintf("Subscriber for %s already exists", m.ID)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	op := &wsOp{cancel: cancel, next: framePrefix("next", m.ID)}
	s.ops[m.ID] = op
	s.wg.Add(1)
	s.mu.Unlock()

	go s.run(ctx, m.ID, op, &params)
	return 0, ""
}

// run executes one operation and sends its results, then complete.
func (s *wsSession) run(ctx context.Context, id string, op *wsOp, params *graphql.RawParams) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		if s.ops[id] == op { // not if the client completed it and reused the id
			delete(s.ops, id)
		}
		completed := op.completed
		s.mu.Unlock()
		op.cancel()
		if !completed {
			s.write(frame("complete", id, nil))
		}
	}()
	start := graphql.Now()
	params.Headers = s.headers
	params.ReadTime = graphql.TraceTiming{Start: start, End: start}
	ctx = graphql.StartOperationTrace(ctx)
	rc, gerr := s.exec.CreateOperationContext(ctx, params)
	if gerr != nil {
		resp := s.exec.DispatchError(graphql.WithOperationContext(ctx, rc), gerr)
		if errcode.GetErrorKind(gerr) == errcode.KindProtocol {
			// Not a valid operation: "error", which ends it (no complete).
			b, _ := json.Marshal(resp.Errors)
			s.ended(op)
			s.write(frame("error", id, b))
			return
		}
		s.next(op, resp)
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	defer func() {
		if r := recover(); r != nil {
			err := rc.Recover(ctx, r)
			var ge *gqlerror.Error
			if !errors.As(err, &ge) {
				ge = &gqlerror.Error{Message: err.Error()} // the server's recover func says what to tell
			}
			b, _ := json.Marshal(gqlerror.List{ge})
			s.ended(op)
			s.write(frame("error", id, b))
		}
	}()
	responses, ctx := s.exec.DispatchOperation(ctx, rc)
	for {
		resp := responses(ctx)
		if resp == nil || !s.next(op, resp) {
			return
		}
	}
}

// decodeJSON decodes one JSON value from r with numbers as json.Number, as
// gqlgen's HTTP transports do, so an Int variable reaches validation as an
// integer (the websocket and multipart transports share it).
func decodeJSON(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.UseNumber()
	return d.Decode(v)
}

// ended marks op as finished without a complete message (the client
// completed it, or an error message ended it).
func (s *wsSession) ended(op *wsOp) {
	s.mu.Lock()
	op.completed = true
	s.mu.Unlock()
}

// closeReason fits a close reason in the 123 bytes a close frame allows,
// cut at a character boundary.
func closeReason(msg string) string {
	if len(msg) <= 123 {
		return msg
	}
	cut := 123
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut]
}

// next sends one result. Data is the executor's own JSON, framed as it is;
// the rest of the response (errors, extensions) is small and marshalled.
func (s *wsSession) next(op *wsOp, resp *graphql.Response) bool {
	buf := make([]byte, 0, len(op.next)+len(resp.Data)+16)
	buf = append(buf, op.next...)
	buf = append(buf, `{"data":`...)
	if len(resp.Data) > 0 {
		buf = append(buf, resp.Data...)
	} else {
		buf = append(buf, "null"...)
	}
	if len(resp.Errors) > 0 || resp.Extensions != nil || resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		b, err := json.Marshal(struct {
			Errors     gqlerror.List  `json:"errors,omitempty"`
			Label      string         `json:"label,omitempty"`
			Path       ast.Path       `json:"path,omitempty"`
			HasNext    *bool          `json:"hasNext,omitempty"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Label, resp.Path, resp.HasNext, resp.Extensions})
		if err != nil {
			b = []byte(`{"errors":[{"message":"服务器内部错误，请稍后重试"}]}`)
		}
		if len(b) > 2 {
			buf = append(buf, ',')
			buf = append(buf, b[1:len(b)-1]...)
		}
	}
	buf = append(buf, "}}"...)
	return s.write(buf)
}

// framePrefix is a message up to its payload: {"id":…,"type":…,"payload":
func framePrefix(typ, id string) []byte {
	f := frame(typ, id, nil)
	return append(f[:len(f)-1], `,"payload":`...)
}

// frame builds {"id":…,"type":…,"payload":…} around a payload that is
// already JSON (or none).
func frame(typ, id string, payload []byte) []byte {
	buf := make([]byte, 0, len(payload)+len(id)+40)
	buf = append(buf, '{')
	if id != "" {
		idJSON, _ := json.Marshal(id) // a string always marshals
		buf = append(buf, `"id":`...)
		buf = append(buf, idJSON...)
		buf = append(buf, ',')
	}
	buf = append(buf, `"type":"`...)
	buf = append(buf, typ...)
	buf = append(buf, '"')
	if payload != nil {
		buf = append(buf, `,"payload":`...)
		buf = append(buf, payload...)
	}
	return append(buf, '}')
}

// write sends one message; a failed write ends the connection. Writes
// take no context (coder/websocket would arm a watcher for every message):
// a client that stops reading is dropped by keepAlive, and the connection
// is dropped when the session ends, which ends a blocked write.
func (s *wsSession) write(msg []byte) bool {
	start := time.Now().UnixNano()
	mine := s.writeSince.CompareAndSwap(0, start)
	err := s.conn.Write(context.Background(), websocket.MessageText, msg)
	if mine {
		s.writeSince.CompareAndSwap(start, 0)
	}
	if err != nil {
		s.cancel()
		return false
	}
	return true
}
