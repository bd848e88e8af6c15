package server

import (
	"encoding/json"
	"reflect"
	"testing"
)

// gqlMessage has the shape of gqlgen's websocket messages (its types are
// unexported): frameResult must find the fields by name.
type gqlMessageType string

type gqlMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    gqlMessageType  `json:"type"`
	noOp    bool
}

func TestFrameResultMatchesMarshal(t *testing.T) {
	payload := json.RawMessage(`{"data":{"sessionEvents":{"type":"SNAPSHOT","url":"/blobs/a?x=1\u0026y=2","note":"迟到 \"5\" 分钟"}}}`)
	for _, m := range []*gqlMessage{
		{Payload: payload, ID: "1", Type: "next"},
		{Payload: payload, ID: `a"b\` + "\n<>&", Type: "data"},
		{Payload: json.RawMessage(`null`), ID: "", Type: "next"},
	} {
		got, ok := frameResult(m)
		if !ok {
			t.Fatalf("%+v: not framed", m)
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var g, w map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("framed message is not JSON: %s: %v", got, err)
		}
		_ = json.Unmarshal(want, &w)
		if m.ID == "" {
			delete(g, "id") // omitempty on the gqlgen side
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("framed %s\nwant     %s", got, want)
		}
	}
}

func TestFrameResultLeavesOtherMessages(t *testing.T) {
	for _, v := range []any{
		&gqlMessage{Payload: json.RawMessage(`{"x":1}`), Type: "pong"}, // echoes a client's payload
		&gqlMessage{Payload: json.RawMessage(`[{"message":"x"}]`), Type: "error"},
		&gqlMessage{Type: "complete", ID: "1"},
		&gqlMessage{Type: "next", ID: "1"},                       // no payload
		gqlMessage{Payload: json.RawMessage(`{}`), Type: "next"}, // not a pointer
		&struct {
			Payload  string
			ID, Type string
		}{"{}", "1", "next"}, // payload not raw JSON
		map[string]any{"type": "next"},
		nil,
	} {
		if b, ok := frameResult(v); ok {
			t.Errorf("%#v framed as %s; want json.Marshal", v, b)
		}
	}
}
