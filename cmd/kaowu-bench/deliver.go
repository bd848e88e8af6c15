package main

// Session-event deliveries: subscribers on sessionEvents over
// graphql-transport-ws against a raw coder/websocket broadcast, and the
// latency from a snapshot upload to its receipt by every watcher.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/proctor"
)

const sessionSub = `subscription($s:ID!){sessionEvents(sessionID:$s){type at attemptID source snapshotURL snapshotURLExpiresAt}}`

// receipt is what a subscriber hands on for every event it reads.
type receipt func(sub int, data []byte, at, url string, t time.Time)

// subscriber reads one websocket and passes events to the current handler.
type subscriber struct {
	conn *websocket.Conn
	h    *atomic.Pointer[receipt]
}

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type evPayload struct {
	Data struct {
		SessionEvents struct {
			Type        string  `json:"type"`
			At          string  `json:"at"`
			SnapshotURL *string `json:"snapshotURL"`
		} `json:"sessionEvents"`
	} `json:"data"`
	Errors []struct{ Message string } `json:"errors"`
}

// read decodes every message the same way for kaowu and the raw server, so
// both phases' clients do the same work.
func (s *subscriber) read(ctx context.Context, idx int, errc chan<- error) {
	for {
		_, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		t := time.Now()
		var m wsMsg
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		switch m.Type {
		case "ping":
			_ = s.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
		case "next":
			var p evPayload
			if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
				select {
				case errc <- fmt.Errorf("subscriber %d: %s", idx, m.Payload):
				default:
				}
				continue
			}
			url := ""
			if p.Data.SessionEvents.SnapshotURL != nil {
				url = *p.Data.SessionEvents.SnapshotURL
			}
			if h := s.h.Load(); h != nil {
				(*h)(idx, data, p.Data.SessionEvents.At, url, t)
			}
		case "error", "complete":
			select {
			case errc <- fmt.Errorf("subscriber %d: %s %s", idx, m.Type, m.Payload):
			default:
			}
		}
	}
}

// dialKaowu opens graphql-transport-ws with the token and subscribes.
func dialKaowu(ctx context.Context, url, token string, sessionID int) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	write := func(v any) error { b, _ := json.Marshal(v); return conn.Write(ctx, websocket.MessageText, b) }
	if err := write(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		conn.CloseNow()
		return nil, err
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, data, err := conn.Read(rctx)
		cancel()
		if err != nil {
			conn.CloseNow()
			return nil, err
		}
		var m wsMsg
		_ = json.Unmarshal(data, &m)
		if m.Type == "connection_ack" {
			break
		}
		if m.Type != "ping" && m.Type != "ka" {
			conn.CloseNow()
			return nil, fmt.Errorf("connection_init refused: %s", data)
		}
	}
	p, _ := json.Marshal(map[string]any{"query": sessionSub, "variables": map[string]any{"s": sessionID}})
	if err := write(wsMsg{ID: "1", Type: "subscribe", Payload: p}); err != nil {
		conn.CloseNow()
		return nil, err
	}
	return conn, nil
}

// rawHub is the engine figure: a coder/websocket server writing the same
// bytes to every connection, one writer goroutine per connection.
type rawHub struct {
	mu   sync.Mutex
	outs []chan []byte
	srv  *http.Server
	url  string
}

func startRawHub(queue int) (*rawHub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &rawHub{url: "ws://" + ln.Addr().String() + "/"}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ch := make(chan []byte, queue)
		h.mu.Lock()
		h.outs = append(h.outs, ch)
		h.mu.Unlock()
		for msg := range ch {
			if err := c.Write(r.Context(), websocket.MessageText, msg); err != nil {
				return
			}
		}
	})}
	go func() { _ = h.srv.Serve(ln) }()
	return h, nil
}

func (h *rawHub) broadcast(msg []byte) {
	h.mu.Lock()
	outs := h.outs
	h.mu.Unlock()
	for _, ch := range outs {
		ch <- msg
	}
}

func (h *rawHub) conns() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.outs) }

func (h *rawHub) close() {
	h.mu.Lock()
	for _, ch := range h.outs {
		close(ch)
	}
	h.outs = nil
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	_ = h.srv.Close()
}

// fanResult is one fan-out phase.
type fanResult struct {
	deliveries, expected int
	rate                 float64
	lat                  []time.Duration // publish → receipt, sorted
	bytes                int             // average message size
	d                    time.Duration   // first publish → last receipt
}

// mergeFan merges rounds of one side.
func mergeFan(fs []fanResult) fanResult {
	var m fanResult
	var bytes int
	for _, f := range fs {
		m.deliveries += f.deliveries
		m.expected += f.expected
		m.d += f.d
		m.lat = append(m.lat, f.lat...)
		bytes += f.bytes * f.deliveries
	}
	slices.Sort(m.lat)
	m.bytes = bytes / max(m.deliveries, 1)
	m.rate = float64(m.deliveries) / m.d.Seconds()
	return m
}

func (f fanResult) pct(p int) time.Duration { return result{lat: f.lat}.pct(p) }

// eventBase: event i carries at = eventBase + i ns, so a receipt names its
// event (RFC 3339 with nanoseconds survives the bus and GraphQL).
var eventBase = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fanout publishes k events, at most w of them not yet received by all s
// subscribers, and times their delivery.
func fanout(k, s, w int, h *atomic.Pointer[receipt], publish func(i int, at time.Time) error) (fanResult, error) {
	pubAt := make([]atomic.Int64, k)
	got := make([]atomic.Int32, k)
	lats := make([][]time.Duration, s)
	var size, total atomic.Int64
	var last atomic.Int64
	sem := make(chan struct{}, w)
	all := make(chan struct{})
	var complete atomic.Int64
	fn := receipt(func(sub int, data []byte, at, _ string, t time.Time) {
		ts, err := time.Parse(time.RFC3339Nano, at)
		i := int(ts.Sub(eventBase))
		if err != nil || i < 0 || i >= k {
			return
		}
		lats[sub] = append(lats[sub], t.Sub(time.Unix(0, pubAt[i].Load())))
		size.Add(int64(len(data)))
		total.Add(1)
		last.Store(t.UnixNano())
		if int(got[i].Add(1)) == s {
			<-sem
			if int(complete.Add(1)) == k {
				close(all)
			}
		}
	})
	h.Store(&fn)
	defer h.Store(nil)
	start := time.Now()
	var perr error
	go func() {
		for i := range k {
			sem <- struct{}{}
			pubAt[i].Store(time.Now().UnixNano())
			if err := publish(i, eventBase.Add(time.Duration(i))); err != nil {
				perr = err
				return
			}
		}
	}()
	if err := waitProgress(all, &total); err != nil {
		return fanResult{}, fmt.Errorf("%w: %d of %d deliveries (%v)", err, total.Load(), k*s, perr)
	}
	var lat []time.Duration
	for _, l := range lats {
		lat = append(lat, l...)
	}
	slices.Sort(lat)
	n := int(total.Load())
	d := time.Unix(0, last.Load()).Sub(start)
	return fanResult{deliveries: n, expected: k * s, lat: lat, bytes: int(size.Load()) / max(n, 1),
		rate: float64(n) / d.Seconds(), d: d}, nil
}

// waitProgress waits for done, failing after 10 s without a new receipt.
func waitProgress(done <-chan struct{}, n *atomic.Int64) error {
	prev, since := n.Load(), time.Now()
	for {
		select {
		case <-done:
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		if cur := n.Load(); cur != prev {
			prev, since = cur, time.Now()
		} else if time.Since(since) > 10*time.Second {
			return errors.New("deliveries stalled")
		}
	}
}

func benchDeliveries(ctx context.Context, x *xenv, o examOpts) ([]row, error) {
	s := min(o.subs, len(x.watchers))
	topic := proctor.SessionTopic(x.sessionID)
	// Real snapshots to point the events at (each watcher signs a URL for
	// the blob, after checking it exists, as in production).
	type snap struct {
		attemptID int
		key       string
	}
	var snaps []snap
	for _, k := range x.cands[:min(len(x.cands), 16)] {
		key, err := x.upload(k)
		if err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		snaps = append(snaps, snap{k.attemptID, key})
	}

	var h atomic.Pointer[receipt]
	errc := make(chan error, 1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Printf("deliveries: %d watchers subscribing to sessionEvents…\n", s)
	for i := range s {
		conn, err := dialKaowu(sctx, x.wsURL, x.watchers[i], x.sessionID)
		if err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		defer conn.CloseNow()
		go (&subscriber{conn: conn, h: &h}).read(sctx, i, errc)
	}
	counter, _ := x.a.Bus.(interface{ Subscribers(string) int })
	for deadline := time.Now().Add(30 * time.Second); counter != nil && counter.Subscribers(topic) < s; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d subscriptions reached the bus", counter.Subscribers(topic), s)
		}
	}
	busStats := func() events.PostgresStats {
		if b, ok := x.a.Bus.(interface{ Stats() events.PostgresStats }); ok {
			return b.Stats()
		}
		return events.PostgresStats{}
	}

	// A message as a watcher receives it, for the raw phase's size.
	sampleCh := make(chan []byte, 1)
	fn := receipt(func(_ int, data []byte, _, _ string, _ time.Time) {
		select {
		case sampleCh <- bytes.Clone(data):
		default:
		}
	})
	h.Store(&fn)
	if _, err := x.upload(x.cands[0]); err != nil {
		return nil, err
	}
	var sample []byte
	select {
	case sample = <-sampleCh:
	case <-time.After(10 * time.Second):
		return nil, errors.New("no event for the uploaded snapshot")
	}
	h.Store(nil)

	// The raw engine: a coder/websocket server broadcasting same-sized
	// messages to as many connections, connected beside the watchers.
	hub, err := startRawHub(o.window + 1)
	if err != nil {
		return nil, err
	}
	defer hub.close()
	var rh atomic.Pointer[receipt]
	for i := range s {
		conn, _, err := websocket.Dial(sctx, hub.url, nil)
		if err != nil {
			return nil, err
		}
		defer conn.CloseNow()
		go (&subscriber{conn: conn, h: &rh}).read(sctx, i, errc)
	}
	for hub.conns() < s {
		time.Sleep(5 * time.Millisecond)
	}
	var sampleEv evPayload
	var sm wsMsg
	_ = json.Unmarshal(sample, &sm)
	_ = json.Unmarshal(sm.Payload, &sampleEv)
	oldAt := []byte(`"at":"` + sampleEv.Data.SessionEvents.At + `"`)

	// 1. Fan-out: SNAPSHOT events published on the bus as the upload
	// publishes them, delivered through sessionEvents to s watchers,
	// against the raw broadcast, in alternating rounds (as the other
	// phases: both sides see the same drift of a shared machine).
	rounds := max(1, o.rounds)
	per := max(1, o.events/rounds)
	fmt.Printf("deliveries: %d SNAPSHOT events to %d GraphQL subscribers and %d %d-byte messages broadcast by a raw coder/websocket server to %d connections (%d in flight), in %d alternating rounds…\n",
		per*rounds, s, per*rounds, len(sample), s, o.window, rounds)
	b0 := busStats()
	var apis, raws []fanResult
	stop := startProfile("deliveries")
	for range rounds {
		api, err := fanout(per, s, o.window, &h, func(i int, at time.Time) error {
			sn := snaps[i%len(snaps)]
			body, _ := json.Marshal(map[string]any{"attemptID": sn.attemptID, "source": "PC", "key": sn.key})
			return x.a.Bus.Publish(ctx, events.Event{Topic: topic, Type: proctor.EventSnapshot, Payload: body, At: at})
		})
		if err != nil {
			return nil, err
		}
		raw, err := fanout(per, s, o.window, &rh, func(i int, at time.Time) error {
			hub.broadcast(bytes.Replace(sample, oldAt, []byte(`"at":"`+at.Format(time.RFC3339Nano)+`"`), 1))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		apis, raws = append(apis, api), append(raws, raw)
	}
	stop()
	b1 := busStats()
	api, raw := mergeFan(apis), mergeFan(raws)
	// The same with NOTE events, which need no per-watcher work (no URL to
	// sign): what the bus, gqlgen and the websocket cost by themselves.
	fmt.Printf("deliveries: %d NOTE events to %d GraphQL subscribers…\n", per*rounds, s)
	notes, err := fanout(per*rounds, s, o.window, &h, func(i int, at time.Time) error {
		sn := snaps[i%len(snaps)]
		body, _ := json.Marshal(map[string]any{"attemptID": sn.attemptID, "text": "请考生正视摄像头，保持面部在画面内"})
		return x.a.Bus.Publish(ctx, events.Event{Topic: topic, Type: proctor.EventNote, Payload: body, At: at})
	})
	if err != nil {
		return nil, err
	}
	select {
	case err := <-errc:
		return nil, err
	default:
	}

	// 3. Upload → receipt: snapshots uploaded through the API while s
	// watchers are subscribed; from the upload request to each receipt.
	fmt.Printf("deliveries: %d snapshot uploads (%d at once) watched by %d subscribers…\n", o.uploads, o.uploadC, s)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	type rcv struct {
		key string
		t   time.Time
	}
	rcvs := make([][]rcv, s)
	var total atomic.Int64
	all := make(chan struct{})
	want := int64(o.uploads * s)
	fn = receipt(func(sub int, _ []byte, _, url string, t time.Time) {
		key := strings.TrimPrefix(url, "/blobs/")
		if i := strings.IndexByte(key, '?'); i >= 0 {
			key = key[:i]
		}
		rcvs[sub] = append(rcvs[sub], rcv{key, t})
		if total.Add(1) == want {
			close(all)
		}
	})
	h.Store(&fn)
	uc := min(o.uploadC, len(x.cands))
	start := time.Now()
	up, err := timed(o.uploads, uc, func(i int) error {
		t0 := time.Now()
		k := x.cands[i%uc]
		// The key is known only from the reply, which may come after the
		// event: record the start under the key afterwards.
		key, err := x.upload(k)
		if err == nil {
			mu.Lock()
			sent[key] = t0
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := waitProgress(all, &total); err != nil {
		return nil, fmt.Errorf("%w: %d of %d", err, total.Load(), want)
	}
	h.Store(nil)
	var e2e []time.Duration
	var lastT time.Time
	mu.Lock()
	for _, rs := range rcvs {
		for _, r := range rs {
			if t0, ok := sent[r.key]; ok {
				e2e = append(e2e, r.t.Sub(t0))
				if r.t.After(lastT) {
					lastT = r.t
				}
			}
		}
	}
	mu.Unlock()
	slices.Sort(e2e)
	e2eRes := result{lat: e2e}
	watchedRate := float64(len(e2e)) / lastT.Sub(start).Seconds()

	dropped := b1.Dropped - b0.Dropped
	return []row{
		{what: fmt.Sprintf("deliveries (%d subscribers)", s),
			api: fmt.Sprintf("%.0f deliveries/s (p99 %v)", api.rate, api.pct(99)),
			raw: fmt.Sprintf("%.0f deliveries/s (p99 %v)", raw.rate, raw.pct(99)), ratio: api.rate / raw.rate, target: 0.5,
			note: fmt.Sprintf("%d events × %d subscribers, %d-byte messages, %d in flight, %d alternating rounds; p99 = bus publish → receipt; bus drops %d",
				per*rounds, s, api.bytes, o.window, rounds, dropped)},
		{what: "  the same, NOTE events",
			api: fmt.Sprintf("%.0f deliveries/s (p99 %v)", notes.rate, notes.pct(99)),
			raw: "(as above)", ratio: notes.rate / raw.rate,
			note: fmt.Sprintf("%d-byte messages; no snapshot URL to resolve per watcher", notes.bytes)},
		{what: "upload → watcher receipt",
			api: fmt.Sprintf("p50 %v, p99 %v", e2eRes.pct(50), e2eRes.pct(99)),
			raw: "-",
			note: fmt.Sprintf("%d uploads (%d at once, %.0f uploads/s) × %d watchers: %.0f deliveries/s; from sending the upload to each watcher's receipt",
				o.uploads, uc, up.rate, s, watchedRate)},
	}, nil
}
