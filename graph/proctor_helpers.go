package graph

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/kaowu/kaowu/graph/model"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/proctor"
)

// evPayload is the union of the session-topic payloads (internal/proctor,
// internal/exam, internal/checkin), which all name the attempt "attemptID".
type evPayload struct {
	ID        int    `json:"id"` // CHECKED_IN: the enrollment
	AttemptID int    `json:"attemptID"`
	Count     *int   `json:"count"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
	Source    string `json:"source"`
	Key       string `json:"key"`
	Text      string `json:"text"`
	Note      string `json:"note"`
	Flagged   *bool  `json:"flagged"`
}

// sessionEvent turns a bus event into what a subscriber sees; a SNAPSHOT's
// key becomes a short-lived signed URL. Nothing in it depends on the
// subscriber (each was admitted to the topic by MayWatch when subscribing,
// and the server published the key after its blob was stored), so an event
// is converted once, by the first of its watchers, and the others share
// the result (evMemo, keyed by the bus's Event.Seq). It is read-only.
func (r *Resolver) sessionEvent(_ context.Context, e events.Event) *model.SessionEvent {
	if e.Seq == 0 { // not from the bus: nothing to share it with
		return r.convertEvent(e)
	}
	if ev, ok := r.evMemo.get(e.Seq); ok {
		return ev
	}
	ev := r.convertEvent(e)
	r.evMemo.put(e.Seq, ev)
	return ev
}

func (r *Resolver) convertEvent(e events.Event) *model.SessionEvent {
	var p evPayload
	_ = json.Unmarshal(e.Payload, &p)
	out := &model.SessionEvent{Type: e.Type, At: e.At, AttemptID: optInt(p.AttemptID), Count: p.Count,
		Reason: optStr(p.Reason), Source: optStr(p.Source), Text: optStr(p.Text), Flagged: p.Flagged}
	switch e.Type {
	case "CHECKED_IN":
		out.EnrollmentID = optInt(p.ID)
	case "FOCUS_LOSS":
		out.Reason = optStr(p.Kind)
	case proctor.EventFlag:
		out.Text = optStr(p.Note)
	case proctor.EventSnapshot:
		if p.Key != "" && p.AttemptID != 0 {
			if u, exp, err := r.App.Proctor.SignSnapshot(p.AttemptID, p.Key); err == nil {
				out.SnapshotURL, out.SnapshotURLExpiresAt = &u, &exp
			}
		}
	}
	return out
}

// relay delivers events of the topics (one or two), converted by conv
// (nil: skip), through pump.
func (r *Resolver) relay(ctx context.Context, topics []string, conv func(context.Context, events.Event) *model.SessionEvent,
	recheck ...func(context.Context) error) (<-chan *model.SessionEvent, error) {
	ctx, cancel := context.WithCancel(ctx)
	srcs := make([]<-chan events.Event, 2)
	for i, t := range topics {
		ch, err := r.Bus.Subscribe(ctx, t)
		if err != nil {
			cancel()
			return nil, err
		}
		srcs[i] = ch
	}
	return pump(ctx, cancel, r, srcs[0], srcs[1], func(ctx context.Context, e events.Event) (*model.SessionEvent, bool) {
		item := conv(ctx, e)
		return item, item != nil
	}, recheck...), nil
}

func snapshotAck(s *proctor.Snapshot, err error) (*model.SnapshotAck, error) {
	if err != nil {
		return nil, err
	}
	return &model.SnapshotAck{Key: s.Key, At: s.At, NextInSeconds: s.NextInSeconds}, nil
}

// evMemo remembers the last few hundred converted events: one event reaches
// every watcher of a session within milliseconds, and each would otherwise
// parse its payload and sign its URL again. Entries are replaced in ring
// order; a miss only costs the conversion.
type evMemo struct {
	mu   sync.Mutex
	m    map[uint64]*model.SessionEvent
	ring [512]uint64
	next int
}

func (m *evMemo) get(seq uint64) (*model.SessionEvent, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ev, ok := m.m[seq]
	return ev, ok
}

func (m *evMemo) put(seq uint64, ev *model.SessionEvent) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[uint64]*model.SessionEvent, len(m.ring))
	}
	if _, ok := m.m[seq]; ok {
		return
	}
	delete(m.m, m.ring[m.next])
	m.ring[m.next] = seq
	m.next = (m.next + 1) % len(m.ring)
	m.m[seq] = ev
}
