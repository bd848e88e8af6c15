package events

import (
	"context"
	"sync"
	"sync/atomic"
)

// Local is an in-process Bus. Publishers never block: each subscriber has a
// bounded buffer, and an event that finds it full is dropped for that
// subscriber only.
type Local struct {
	buffer int

	mu     sync.RWMutex
	topics map[string][]*subscriber
	closed bool
	done   chan struct{} // closed by Close; ends every forwarder
	wg     sync.WaitGroup

	seq       atomic.Uint64 // Event.Seq of the last event fanned out
	published atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
}

type subscriber struct {
	topic string
	idx   int // position in topics[topic], kept for O(1) removal
	// Pointers keep the buffer small (8 bytes a slot) and let one event be
	// shared by every subscriber of a topic; events are never mutated.
	in chan *Event
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process bus. It understands WithBuffer; other options
// are ignored.
func NewLocal(opts ...Option) *Local {
	cfg := newConfig(opts)
	return &Local{
		buffer: cfg.buffer,
		topics: make(map[string][]*subscriber),
		done:   make(chan struct{}),
	}
}

// Publish fans the events out to the current subscribers of their topics and
// returns without waiting for any subscriber. Events with a zero At get the
// current time. Receivers share Payload bytes and must not modify them.
func (l *Local) Publish(ctx context.Context, evts ...Event) error {
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
	return l.fanout(evts)
}

// fanout delivers already validated events. The sends are non-blocking, so
// holding the read lock here never waits on a subscriber.
func (l *Local) fanout(evts []Event) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	l.published.Add(uint64(len(evts)))
	var dropped uint64
	for i := range evts {
		e := &evts[i]
		e.Seq = l.seq.Add(1) // evts belong to the bus (prepared or decoded here)
		for _, s := range l.topics[e.Topic] {
			select {
			case s.in <- e:
			default:
				dropped++
			}
		}
	}
	if dropped > 0 {
		l.dropped.Add(dropped)
	}
	return nil
}

// Subscribe returns a channel receiving the topic's events published from now
// on. The channel is closed when ctx is done or the bus is closed.
func (l *Local) Subscribe(ctx context.Context, topic string) (<-chan Event, error) {
	if topic == "" {
		return nil, ErrNoTopic
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &subscriber{topic: topic, in: make(chan *Event, l.buffer)}
	out := make(chan Event)

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	subs := l.topics[topic]
	s.idx = len(subs)
	l.topics[topic] = append(subs, s)
	// Added under the lock so Close cannot start waiting before we count.
	l.wg.Add(1)
	l.mu.Unlock()

	go l.forward(ctx, s, out)
	return out, nil
}

// forward moves events from the subscriber's buffer to its channel. It is the
// only sender on out, so closing out here is safe and happens exactly once.
func (l *Local) forward(ctx context.Context, s *subscriber, out chan<- Event) {
	defer l.wg.Done()
	defer close(out)
	defer l.remove(s)
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case e := <-s.in:
			select {
			case out <- *e:
				l.delivered.Add(1)
			case <-ctx.Done():
				return
			case <-l.done:
				return
			}
		}
	}
}

func (l *Local) remove(s *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	subs := l.topics[s.topic]
	last := len(subs) - 1
	subs[s.idx] = subs[last]
	subs[s.idx].idx = s.idx
	subs[last] = nil
	if last == 0 {
		delete(l.topics, s.topic)
	} else {
		l.topics[s.topic] = subs[:last]
	}
}

// Close closes every subscription channel and waits for the bus goroutines to
// exit. Later calls return nil; Publish and Subscribe return ErrClosed.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}

// Stats returns the bus counters.
func (l *Local) Stats() Stats {
	return Stats{
		Published: l.published.Load(),
		Delivered: l.delivered.Load(),
		Dropped:   l.dropped.Load(),
	}
}

// Subscribers returns how many subscriptions the topic has now (for
// readiness checks in tests and for metrics).
func (l *Local) Subscribers(topic string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.topics[topic])
}
