package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// wsImplementation is gqlgen's websocket adapter for coder/websocket, with
// one difference that matters on the proctor dashboards' hot path: a
// subscription result is framed without being encoded twice.
//
// gqlgen marshals each result to JSON and then hands the adapter a message
// whose payload is that JSON; json.Marshal of the message re-scans and
// re-compacts the payload, which was a quarter of the transport's CPU per
// delivery. Here result messages ("next", "data") are framed around the
// payload as it is; every other message (acks, pings, errors, pongs that
// echo a client's payload) still goes through json.Marshal.
type wsImplementation struct {
	AcceptOptions websocket.AcceptOptions
}

var _ transport.WebsocketImplementation = wsImplementation{}

func (u wsImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range o.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	opts := u.AcceptOptions
	for _, p := range o.Subprotocols {
		if !slices.Contains(opts.Subprotocols, p) {
			opts.Subprotocols = append(opts.Subprotocols, p)
		}
	}
	c, err := websocket.Accept(w, r, &opts)
	if err != nil {
		return nil, err
	}
	return &wsConn{conn: c}, nil
}

type wsConn struct {
	conn *websocket.Conn

	mu       sync.Mutex
	deadline *time.Timer   // closes the connection when a pong is overdue
	closing  chan struct{} // set once WriteClose has started the close handshake
}

var (
	_ transport.WebsocketConn          = (*wsConn)(nil)
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

func (c *wsConn) NextReader() (int, io.Reader, error) {
	typ, data, err := c.conn.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
			return int(typ), nil, transport.ErrWebsocketClosed
		}
		return int(typ), nil, err
	}
	return int(typ), bytes.NewReader(data), nil
}

func (c *wsConn) WriteJSON(v any) error {
	data, ok := frameResult(v)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return c.conn.Write(context.Background(), websocket.MessageText, data)
}

// frameResult encodes a gqlgen result message ({payload, id, type} with
// type "next" or "data") without re-encoding its payload, which gqlgen
// produced with json.Marshal. ok is false for anything else.
func frameResult(v any) (data []byte, ok bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	s := rv.Elem()
	p, id, t := s.FieldByName("Payload"), s.FieldByName("ID"), s.FieldByName("Type")
	if !p.IsValid() || !id.IsValid() || !t.IsValid() ||
		p.Type() != reflect.TypeFor[json.RawMessage]() || id.Kind() != reflect.String || t.Kind() != reflect.String {
		return nil, false
	}
	typ := t.String()
	payload := p.Bytes()
	if (typ != "next" && typ != "data") || len(payload) == 0 {
		return nil, false
	}
	idJSON, err := json.Marshal(id.String())
	if err != nil {
		return nil, false
	}
	buf := make([]byte, 0, len(payload)+len(idJSON)+32)
	buf = append(buf, `{"id":`...)
	buf = append(buf, idJSON...)
	buf = append(buf, `,"type":"`...)
	buf = append(buf, typ...)
	buf = append(buf, `","payload":`...)
	buf = append(buf, payload...)
	buf = append(buf, '}')
	return buf, true
}

func (c *wsConn) WriteClose(code int, reason string) error {
	c.stopDeadline()
	c.mu.Lock()
	if c.closing != nil {
		c.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	c.closing = done
	c.mu.Unlock()
	// Close waits for the peer's close frame (up to 5 s): not on the
	// transport's teardown path.
	go func() {
		defer close(done)
		_ = c.conn.Close(websocket.StatusCode(code), reason)
	}()
	return nil
}

func (c *wsConn) Close() error {
	c.stopDeadline()
	c.mu.Lock()
	handshake := c.closing != nil
	c.mu.Unlock()
	if handshake {
		return nil // the WriteClose goroutine closes the connection
	}
	return c.conn.CloseNow()
}

func (c *wsConn) Subprotocol() string { return c.conn.Subprotocol() }

func (c *wsConn) SetReadLimit(n int64) { c.conn.SetReadLimit(n) }

// SetReadDeadline closes the connection at t (coder/websocket reads take a
// context, not a deadline); the zero time clears it.
func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
	if !t.IsZero() {
		d := time.Until(t)
		if d <= 0 {
			c.mu.Unlock()
			return c.conn.CloseNow()
		}
		c.deadline = time.AfterFunc(d, func() { _ = c.conn.CloseNow() })
	}
	c.mu.Unlock()
	return nil
}

func (c *wsConn) stopDeadline() { _ = c.SetReadDeadline(time.Time{}) }
