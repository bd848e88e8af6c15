// Package events is the event bus behind GraphQL subscriptions.
//
// Delivery is asynchronous and at-most-once: a bus never blocks a publisher
// on a slow subscriber, it drops instead and counts the drop. Subscribers that
// must not miss state (proctor dashboards) are expected to refetch a snapshot
// when they (re)subscribe and treat events as invalidation hints.
//
// Two implementations are provided: Local, an in-process fan-out, and
// Postgres, which fans out across server processes with LISTEN/NOTIFY while
// keeping NOTIFY off the request path and out of data transactions.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Event is a small notification routed by topic. Payloads carry keys and ids,
// never bulk data such as image bytes.
type Event struct {
	Topic   string          `json:"t"`           // e.g. "session:42", "user:7", "announcements"
	Type    string          `json:"k"`           // e.g. "SNAPSHOT", "FOCUS_LOSS"
	Payload json.RawMessage `json:"p,omitempty"` // small: keys and ids, never image bytes
	At      time.Time       `json:"at"`
	// Seq numbers the event as this process's bus delivers it (never 0 on
	// a delivered event): every subscriber receives the same Seq for one
	// event, so per-event work (a signed URL) can be done once and shared.
	// It is not sent between processes.
	Seq uint64 `json:"-"`
}

// Bus publishes events to subscribers by topic.
type Bus interface {
	// Publish hands events to the bus and returns at once; delivery is asynchronous and at-most-once.
	Publish(ctx context.Context, evts ...Event) error
	// Subscribe returns a channel of events for the topic; it is closed when ctx is done or the bus closes.
	Subscribe(ctx context.Context, topic string) (<-chan Event, error)
	Close() error
}

// Stats are cumulative counters of a Local bus.
type Stats struct {
	Published uint64 // events accepted by Publish (or received from other processes)
	Delivered uint64 // event copies handed to a subscriber's channel
	Dropped   uint64 // event copies dropped because a subscriber's buffer was full
}

var (
	// ErrClosed is returned by a bus that has been closed.
	ErrClosed = errors.New("events: bus closed")
	// ErrNoTopic is returned when an event or subscription has an empty topic.
	ErrNoTopic = errors.New("events: empty topic")
)

// Option configures a bus. Options that only concern Postgres are ignored by
// NewLocal.
type Option func(*config)

type config struct {
	buffer       int
	logger       *slog.Logger
	channel      string
	queueSize    int
	batchMax     int
	batchWindow  time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	healthEvery  time.Duration
	closeTimeout time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		buffer:       256,
		channel:      "kaowu_events",
		queueSize:    16384,
		batchMax:     64,
		batchWindow:  5 * time.Millisecond,
		backoffMin:   100 * time.Millisecond,
		backoffMax:   5 * time.Second,
		healthEvery:  30 * time.Second,
		closeTimeout: 2 * time.Second,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// WithBuffer sets each subscriber's buffer size (default 256). Events that
// arrive while the buffer is full are dropped for that subscriber.
func WithBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.buffer = n
		}
	}
}

// WithLogger sets the logger used for errors and reconnects (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithChannel sets the PostgreSQL LISTEN/NOTIFY channel (default "kaowu_events").
func WithChannel(name string) Option {
	return func(c *config) { c.channel = name }
}

// WithQueueSize bounds the outbound queue of a Postgres bus (default 16384
// events). When it is full the oldest queued event is dropped.
func WithQueueSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.queueSize = n
		}
	}
}

// WithBatch sets how many events the Postgres sender gathers at most and how
// long it waits for more before sending (defaults 64 and 5ms).
func WithBatch(maxEvents int, window time.Duration) Option {
	return func(c *config) {
		if maxEvents > 0 {
			c.batchMax = maxEvents
		}
		if window >= 0 {
			c.batchWindow = window
		}
	}
}

// WithBackoff sets the reconnect backoff range of a Postgres bus (defaults 100ms to 5s).
func WithBackoff(lo, hi time.Duration) Option {
	return func(c *config) {
		if lo > 0 {
			c.backoffMin = lo
		}
		if hi >= c.backoffMin {
			c.backoffMax = hi
		}
	}
}

// WithHealthCheck sets how often an idle listener connection is pinged, so a
// silently dead connection is noticed (default 30s).
func WithHealthCheck(every time.Duration) Option {
	return func(c *config) {
		if every > 0 {
			c.healthEvery = every
		}
	}
}

// WithCloseTimeout bounds how long Close spends sending events still queued (default 2s).
func WithCloseTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.closeTimeout = d
		}
	}
}

// prepare validates events and stamps a missing time. It returns a copy so the
// caller's slice is never modified.
func prepare(evts []Event) ([]Event, error) {
	out := make([]Event, len(evts))
	var now time.Time
	for i, e := range evts {
		if e.Topic == "" {
			return nil, ErrNoTopic
		}
		// Invalid JSON would only fail later, far from the caller, when the
		// event is encoded for NOTIFY or for a subscription response.
		if len(e.Payload) > 0 && !json.Valid(e.Payload) {
			return nil, fmt.Errorf("events: invalid JSON payload for %s/%s", e.Topic, e.Type)
		}
		if e.At.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			e.At = now
		}
		out[i] = e
	}
	return out, nil
}
