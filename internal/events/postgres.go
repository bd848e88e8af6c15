package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxNotifyPayload is the largest NOTIFY payload PostgreSQL accepts in its
// default build: the payload must be shorter than 8000 bytes.
const maxNotifyPayload = 7999

const (
	notifySQL   = "SELECT pg_notify($1, $2)"
	dialTimeout = 10 * time.Second
	pingTimeout = 5 * time.Second
	idlePing    = time.Second // sender pings before sending after this long idle
)

// PostgresStats are cumulative counters of a Postgres bus.
type PostgresStats struct {
	Stats             // local fan-out, including events received from other processes
	Notifies   uint64 // pg_notify calls that succeeded
	Sent       uint64 // events carried by those calls
	Received   uint64 // events received from other processes
	Unsent     uint64 // events dropped on the way out: queue full (oldest first) or a failed send
	Oversize   uint64 // events dropped because alone they exceed the NOTIFY payload limit
	Errors     uint64 // connection, send and decode errors
	Reconnects uint64 // successful reconnects of either connection
}

// Postgres is a Bus shared by every server process connected to the same
// database, using LISTEN/NOTIFY.
//
// NOTIFY takes a global lock at commit, so it is kept away from request
// handlers and data transactions: Publish delivers to subscribers of this
// process at once and only enqueues the events; one sender goroutine sends
// them in batches (a JSON array per pg_notify) on a dedicated connection. A
// listener goroutine on a second connection delivers batches from other
// processes; batches carrying this process's origin id are skipped, so every
// subscriber sees each event once. Both connections reconnect with backoff;
// events are at-most-once across a reconnect.
type Postgres struct {
	cfg       config
	log       *slog.Logger
	local     *Local
	origin    string
	selfMark  string // payload prefix of our own batches, to skip them without decoding
	sendCfg   *pgx.ConnConfig
	listenCfg *pgx.ConnConfig

	mu     sync.Mutex
	queue  ring
	closed bool

	wake         chan struct{} // capacity 1: "the queue changed"
	stop         chan struct{} // closed by Close: sender drains, listener exits
	sendCtx      context.Context
	cancelSend   context.CancelFunc // bounds the drain in Close
	listenCtx    context.Context
	cancelListen context.CancelFunc
	closeOnce    sync.Once
	wg           sync.WaitGroup

	notifies   atomic.Uint64
	sent       atomic.Uint64
	received   atomic.Uint64
	unsent     atomic.Uint64
	oversize   atomic.Uint64
	errs       atomic.Uint64
	reconnects atomic.Uint64
}

var _ Bus = (*Postgres)(nil)

// envelope is the NOTIFY payload: a batch of events from one process.
type envelope struct {
	Origin string  `json:"o"`
	Events []Event `json:"e"`
}

// NewPostgres connects the sender and listener connections, starts listening
// and returns the running bus. ctx bounds only the initial connection; call
// Close to stop the bus. The DSN is any pgx connection string; it should
// point at PostgreSQL directly (LISTEN does not work through a
// transaction-pooling PgBouncer).
func NewPostgres(ctx context.Context, dsn string, opts ...Option) (*Postgres, error) {
	cfg := newConfig(opts)
	if cfg.channel == "" || len(cfg.channel) > 63 {
		return nil, fmt.Errorf("events: channel name must be 1 to 63 bytes, got %d", len(cfg.channel))
	}
	sendCfg, err := connConfig(dsn, "kaowu-events-sender")
	if err != nil {
		return nil, err
	}
	// A NOTIFY-only transaction has nothing to make durable: listeners are
	// told at commit, and nothing is replayed after a crash. So its commit
	// need not wait for the WAL to reach the disk (a flush per batch).
	sendCfg.RuntimeParams["synchronous_commit"] = "off"
	listenCfg, err := connConfig(dsn, "kaowu-events-listener")
	if err != nil {
		return nil, err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("events: origin id: %w", err)
	}
	origin := hex.EncodeToString(id[:])

	p := &Postgres{
		cfg:       cfg,
		log:       cfg.logger.With("component", "events", "channel", cfg.channel),
		local:     NewLocal(WithBuffer(cfg.buffer)),
		origin:    origin,
		selfMark:  `{"o":"` + origin + `"`,
		sendCfg:   sendCfg,
		listenCfg: listenCfg,
		queue:     ring{buf: make([]Event, cfg.queueSize)},
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	p.sendCtx, p.cancelSend = context.WithCancel(context.Background())
	p.listenCtx, p.cancelListen = context.WithCancel(context.Background())

	// Connect both before returning so a bad DSN fails here, and so events
	// from other processes published after NewPostgres returns are heard.
	sendConn, err := p.dial(ctx, sendCfg, nil)
	if err != nil {
		p.abort()
		return nil, fmt.Errorf("events: connect sender: %w", err)
	}
	listenConn, err := p.dial(ctx, listenCfg, p.listenSQL)
	if err != nil {
		closeConn(sendConn)
		p.abort()
		return nil, fmt.Errorf("events: connect listener: %w", err)
	}
	p.wg.Add(2)
	go p.sendLoop(sendConn)
	go p.listenLoop(listenConn)
	return p, nil
}

func (p *Postgres) abort() {
	p.cancelSend()
	p.cancelListen()
	_ = p.local.Close()
}

func connConfig(dsn, appName string) (*pgx.ConnConfig, error) {
	c, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("events: %w", err)
	}
	// Name the connections so operators can find them in pg_stat_activity,
	// unless the DSN already chose a name.
	if _, ok := c.RuntimeParams["application_name"]; !ok {
		c.RuntimeParams["application_name"] = appName
	}
	return c, nil
}

func (p *Postgres) listenSQL(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{p.cfg.channel}.Sanitize())
	return err
}

// Publish delivers the events to this process's subscribers and queues them
// for the other processes. It never does I/O. When the queue is full the
// oldest queued events are dropped and counted in Unsent.
func (p *Postgres) Publish(ctx context.Context, evts ...Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(evts) == 0 {
		return nil
	}
	evts, err := prepare(evts)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	before := p.queue.n
	var dropped uint64
	for _, e := range evts {
		if p.queue.push(e) {
			dropped++
		}
	}
	n := p.queue.n
	p.mu.Unlock()
	if dropped > 0 {
		p.unsent.Add(dropped)
	}
	// Wake the sender when it may be waiting: on the first event, or once a
	// full batch is ready during its batch window.
	if before == 0 || n >= p.cfg.batchMax {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	// Local subscribers get the events now; the listener skips our own
	// batches when they come back from the server.
	_ = p.local.fanout(evts)
	return nil
}

// Subscribe returns a channel of the topic's events from every process.
func (p *Postgres) Subscribe(ctx context.Context, topic string) (<-chan Event, error) {
	return p.local.Subscribe(ctx, topic)
}

// Close stops accepting events, spends at most the close timeout (default
// 2s) sending those still queued, closes both connections and every
// subscription channel, and waits for all goroutines to exit.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
		p.cancelListen()
		t := time.AfterFunc(p.cfg.closeTimeout, p.cancelSend)
		p.wg.Wait()
		t.Stop()
		p.cancelSend()
		_ = p.local.Close()
	})
	return nil
}

// Stats returns the bus counters.
func (p *Postgres) Stats() PostgresStats {
	return PostgresStats{
		Stats:      p.local.Stats(),
		Notifies:   p.notifies.Load(),
		Sent:       p.sent.Load(),
		Received:   p.received.Load(),
		Unsent:     p.unsent.Load(),
		Oversize:   p.oversize.Load(),
		Errors:     p.errs.Load(),
		Reconnects: p.reconnects.Load(),
	}
}

func (p *Postgres) stopping() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

func (p *Postgres) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queue.n
}

// ---- sender ----

// chunk is one pg_notify payload.
type chunk struct {
	payload string
	n       int // events in it
}

func (p *Postgres) sendLoop(conn *pgx.Conn) {
	defer p.wg.Done()
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	bo := newBackoff(p.cfg.backoffMin, p.cfg.backoffMax)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		batch  []Event
		chunks []chunk
		next   int // first chunk of chunks not yet sent
		lastDL time.Time
		logged uint64 // Unsent count last reported
		// lastUsed is when conn last proved alive.
		lastUsed = time.Now()
	)
	for {
		if next == len(chunks) {
			var ok bool
			batch, ok = p.collect(batch[:0], timer)
			if !ok {
				return
			}
			chunks, next = p.encode(chunks[:0], batch), 0
			clear(batch) // do not pin payloads until the next batch
		}
		// Report queue overflow at most once a second rather than per event.
		if u := p.unsent.Load(); u != logged && time.Since(lastDL) > time.Second {
			p.log.Warn("events: outbound events dropped", "total", u, "since_last_report", u-logged)
			logged, lastDL = u, time.Now()
		}
		if conn == nil {
			if p.stopping() {
				p.dropChunks(chunks[next:])
				return
			}
			conn = p.redial(p.sendCtx, p.stop, p.sendCfg, nil, "sender", bo)
			if conn == nil {
				p.dropChunks(chunks[next:])
				return
			}
			lastUsed = time.Now()
		}
		if time.Since(lastUsed) > idlePing {
			// A connection the server ended while we were idle would make the
			// next send fail after the write, losing the batch; a ping finds
			// out first, and then the batch is safely sent after reconnecting.
			pctx, pcancel := context.WithTimeout(p.sendCtx, pingTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				p.errs.Add(1)
				if p.sendCtx.Err() != nil {
					p.dropChunks(chunks[next:])
					return
				}
				p.log.Warn("events: sender connection lost", "err", err)
				closeConn(conn)
				conn = nil
				continue
			}
		}
		for next < len(chunks) {
			c := chunks[next]
			_, err := conn.Exec(p.sendCtx, notifySQL, p.cfg.channel, c.payload)
			if err == nil {
				p.notifies.Add(1)
				p.sent.Add(uint64(c.n))
				next++
				lastUsed = time.Now()
				bo.reset()
				continue
			}
			p.errs.Add(1)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && !conn.IsClosed() {
				// The server refused this payload (e.g. NOTIFY queue full);
				// the connection is fine.
				p.log.Error("events: pg_notify failed", "err", err, "events", c.n)
				p.unsent.Add(uint64(c.n))
				next++
				continue
			}
			if p.sendCtx.Err() != nil {
				p.dropChunks(chunks[next:])
				return
			}
			// If nothing reached the server the chunk is resent after
			// reconnecting; otherwise it may have been delivered, and
			// at-most-once means we must not send it again.
			if !pgconn.SafeToRetry(err) {
				p.unsent.Add(uint64(c.n))
				next++
			}
			p.log.Warn("events: sender connection lost", "err", err)
			closeConn(conn)
			conn = nil
			break
		}
	}
}

func (p *Postgres) dropChunks(cs []chunk) {
	for _, c := range cs {
		p.unsent.Add(uint64(c.n))
	}
}

// collect waits for queued events, gives more events the batch window to
// arrive, and returns up to batchMax of them. It returns false when the bus
// is stopping and nothing is left to send.
func (p *Postgres) collect(dst []Event, timer *time.Timer) ([]Event, bool) {
	for p.queued() == 0 {
		select {
		case <-p.wake:
		case <-p.stop:
			if p.queued() == 0 {
				return dst, false
			}
		}
	}
	if p.cfg.batchWindow > 0 && p.queued() < p.cfg.batchMax && !p.stopping() {
		timer.Reset(p.cfg.batchWindow)
	wait:
		for p.queued() < p.cfg.batchMax {
			select {
			case <-p.wake:
			case <-timer.C:
				break wait
			case <-p.stop:
				break wait
			}
		}
		timer.Stop()
	}
	p.mu.Lock()
	dst = p.queue.pop(dst, p.cfg.batchMax)
	p.mu.Unlock()
	return dst, true
}

// encode packs events into as few payloads as fit under the NOTIFY limit.
func (p *Postgres) encode(dst []chunk, batch []Event) []chunk {
	const suffix = "]}"
	prefix := p.selfMark + `,"e":[`
	var b strings.Builder
	n := 0
	flush := func() {
		if n > 0 {
			b.WriteString(suffix)
			dst = append(dst, chunk{payload: b.String(), n: n})
		}
		b = strings.Builder{}
		n = 0
	}
	for i := range batch {
		e := &batch[i]
		js, err := json.Marshal(e)
		if err != nil {
			p.errs.Add(1)
			p.unsent.Add(1)
			p.log.Error("events: cannot encode event", "topic", e.Topic, "type", e.Type, "err", err)
			continue
		}
		if len(prefix)+len(js)+len(suffix) > maxNotifyPayload {
			p.oversize.Add(1)
			p.log.Error("events: event too large for NOTIFY, dropped",
				"topic", e.Topic, "type", e.Type, "bytes", len(js), "limit", maxNotifyPayload)
			continue
		}
		if n > 0 && b.Len()+1+len(js)+len(suffix) > maxNotifyPayload {
			flush()
		}
		if n == 0 {
			b.Grow(1024)
			b.WriteString(prefix)
		} else {
			b.WriteByte(',')
		}
		b.Write(js)
		n++
	}
	flush()
	return dst
}

// ---- listener ----

func (p *Postgres) listenLoop(conn *pgx.Conn) {
	defer p.wg.Done()
	bo := newBackoff(p.cfg.backoffMin, p.cfg.backoffMax)
	for {
		if conn == nil {
			conn = p.redial(p.listenCtx, p.stop, p.listenCfg, p.listenSQL, "listener", bo)
			if conn == nil {
				return
			}
			// Events other processes sent while we were away are lost.
			p.log.Warn("events: listener reconnected; remote events may have been missed")
		}
		began := time.Now()
		err := p.listen(conn)
		closeConn(conn)
		conn = nil
		if p.listenCtx.Err() != nil {
			return
		}
		p.errs.Add(1)
		p.log.Warn("events: listener connection lost", "err", err)
		// A connection that lived a while proves the server works again;
		// start the next backoff from the bottom.
		if time.Since(began) > p.cfg.backoffMax {
			bo.reset()
		}
	}
}

// listen delivers notifications until the connection fails or the bus closes.
func (p *Postgres) listen(conn *pgx.Conn) error {
	for {
		ctx, cancel := context.WithTimeout(p.listenCtx, p.cfg.healthEvery)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			if p.listenCtx.Err() == nil && pgconn.Timeout(err) && !conn.IsClosed() {
				// Idle for a while: a half-open TCP connection would wait
				// forever, so prove the server is still there.
				pctx, pcancel := context.WithTimeout(p.listenCtx, pingTimeout)
				err = conn.Ping(pctx)
				pcancel()
				if err == nil {
					continue
				}
			}
			return err
		}
		p.deliver(n)
	}
}

func (p *Postgres) deliver(n *pgconn.Notification) {
	if n.Channel != p.cfg.channel || strings.HasPrefix(n.Payload, p.selfMark) {
		return
	}
	var env envelope
	if err := json.Unmarshal([]byte(n.Payload), &env); err != nil {
		p.errs.Add(1)
		// Never log the payload itself.
		p.log.Warn("events: undecodable notification", "err", err, "bytes", len(n.Payload), "pid", n.PID)
		return
	}
	if env.Origin == p.origin {
		return
	}
	evts := env.Events[:0]
	for _, e := range env.Events {
		if e.Topic != "" {
			evts = append(evts, e)
		}
	}
	if len(evts) == 0 {
		return
	}
	p.received.Add(uint64(len(evts)))
	_ = p.local.fanout(evts)
}

// ---- connections ----

func (p *Postgres) dial(ctx context.Context, cfg *pgx.ConnConfig, setup func(context.Context, *pgx.Conn) error) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if setup != nil {
		if err := setup(ctx, conn); err != nil {
			closeConn(conn)
			return nil, err
		}
	}
	return conn, nil
}

// redial reconnects with backoff until it succeeds, ctx is done or quit is
// closed (then it returns nil).
func (p *Postgres) redial(ctx context.Context, quit <-chan struct{}, cfg *pgx.ConnConfig,
	setup func(context.Context, *pgx.Conn) error, role string, bo *backoff) *pgx.Conn {
	for {
		t := time.NewTimer(bo.next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-quit:
			t.Stop()
			return nil
		}
		conn, err := p.dial(ctx, cfg, setup)
		if err == nil {
			p.reconnects.Add(1)
			p.log.Info("events: reconnected", "role", role)
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		p.errs.Add(1)
		p.log.Warn("events: reconnect failed", "role", role, "err", err)
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// backoff is exponential with jitter, so processes that lost the server at
// the same moment do not reconnect in lockstep.
type backoff struct {
	lo, hi, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{lo: lo, hi: hi} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.lo
	} else {
		b.cur = min(b.cur*2, b.hi)
	}
	half := b.cur / 2
	return half + mrand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }

// ring is a bounded FIFO that overwrites its oldest entry when full.
type ring struct {
	buf     []Event
	head, n int
}

// push appends e and reports whether the oldest event was dropped for it.
func (r *ring) push(e Event) bool {
	dropped := false
	if r.n == len(r.buf) {
		r.buf[r.head] = Event{}
		r.head = (r.head + 1) % len(r.buf)
		r.n--
		dropped = true
	}
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
	return dropped
}

// pop moves up to max events from the front into dst.
func (r *ring) pop(dst []Event, max int) []Event {
	for ; max > 0 && r.n > 0; max-- {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = Event{}
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	return dst
}

// Subscribers returns how many local subscriptions the topic has now.
func (p *Postgres) Subscribers(topic string) int { return p.local.Subscribers(topic) }
