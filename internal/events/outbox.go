package events

import (
	"context"
	"errors"
	"sync"
)

// Outbox collects events during a transaction and publishes them only when
// told the transaction committed, so subscribers never see changes that were
// rolled back. The zero value is ready to use and safe for concurrent Add.
//
// Typical use:
//
//	var ob events.Outbox
//	ctx = events.WithOutbox(ctx, &ob)
//	if err := runTx(ctx); err != nil { ob.Discard(); return err }
//	return ob.Flush(ctx, bus)
type Outbox struct {
	mu   sync.Mutex
	evts []Event
}

// Add records events to publish after commit.
func (o *Outbox) Add(evts ...Event) {
	o.mu.Lock()
	o.evts = append(o.evts, evts...)
	o.mu.Unlock()
}

// Len reports how many events are waiting.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.evts)
}

// Flush publishes the collected events in one call, then resets the outbox.
// The events are removed even if Publish fails: delivery is at-most-once and
// a retry could duplicate what the bus already accepted. Publish fails on a
// done ctx, so after commit pass a context that outlives the request, e.g.
// context.WithoutCancel(ctx).
func (o *Outbox) Flush(ctx context.Context, bus Bus) error {
	if bus == nil {
		return errors.New("events: Flush with nil bus")
	}
	o.mu.Lock()
	evts := o.evts
	o.evts = nil
	o.mu.Unlock()
	if len(evts) == 0 {
		return nil
	}
	return bus.Publish(ctx, evts...)
}

// Discard drops the collected events; call it when the transaction rolled back.
func (o *Outbox) Discard() {
	o.mu.Lock()
	o.evts = nil
	o.mu.Unlock()
}

type outboxKey struct{}

// WithOutbox returns a context carrying o, for code that runs inside the
// transaction.
func WithOutbox(ctx context.Context, o *Outbox) context.Context {
	return context.WithValue(ctx, outboxKey{}, o)
}

// OutboxFrom returns the outbox carried by ctx, or nil if none.
func OutboxFrom(ctx context.Context) *Outbox {
	o, _ := ctx.Value(outboxKey{}).(*Outbox)
	return o
}

// Emit adds the events to the outbox carried by ctx, if any, so they go out
// after commit; otherwise it publishes them on bus at once.
func Emit(ctx context.Context, bus Bus, evts ...Event) error {
	if o := OutboxFrom(ctx); o != nil {
		o.Add(evts...)
		return nil
	}
	if bus == nil {
		return errors.New("events: Emit with nil bus and no outbox")
	}
	return bus.Publish(ctx, evts...)
}
