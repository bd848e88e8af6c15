package graphtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// WS is a minimal graphql-transport-ws client (gqlgen's test client speaks
// only the older graphql-ws protocol).
type WS struct {
	conn *websocket.Conn
	ctx  context.Context
}

// Message is a protocol message.
type Message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// DialWS connects and completes connection_init/ack with the token (if any).
func DialWS(ctx context.Context, url, token, origin string) (*WS, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	w := &WS{conn: conn, ctx: ctx}
	payload := map[string]any{}
	if token != "" {
		payload["Authorization"] = "Bearer " + token
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		conn.CloseNow()
		return nil, err
	}
	for {
		m, err := w.Next(5 * time.Second)
		if err != nil {
			conn.CloseNow()
			return nil, err
		}
		switch m.Type {
		case "connection_ack":
			return w, nil
		case "ping":
			_ = wsjson.Write(ctx, conn, Message{Type: "pong"})
		case "ka":
		default:
			conn.CloseNow()
			return nil, fmt.Errorf("init refused: %s %s", m.Type, m.Payload)
		}
	}
}

// Subscribe starts an operation with the given id.
func (w *WS) Subscribe(id, query string, vars map[string]any) error {
	p, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return wsjson.Write(w.ctx, w.conn, Message{ID: id, Type: "subscribe", Payload: p})
}

// Complete stops an operation.
func (w *WS) Complete(id string) error {
	return wsjson.Write(w.ctx, w.conn, Message{ID: id, Type: "complete"})
}

// Next reads the next non-ping message, answering pings.
func (w *WS) Next(timeout time.Duration) (*Message, error) {
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	defer cancel()
	for {
		var m Message
		if err := wsjson.Read(ctx, w.conn, &m); err != nil {
			return nil, err
		}
		if m.Type == "ping" {
			_ = wsjson.Write(w.ctx, w.conn, Message{Type: "pong"})
			continue
		}
		if m.Type == "pong" || m.Type == "ka" {
			continue
		}
		return &m, nil
	}
}

// Close closes the connection.
func (w *WS) Close() { _ = w.conn.Close(websocket.StatusNormalClosure, "") }
