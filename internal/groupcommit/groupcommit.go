// Package groupcommit writes concurrent requests in batches, one
// transaction per batch, and answers each caller after its batch is
// written: answer saves and camera-snapshot evidence, the two writes every
// candidate repeats all through an exam.
//
// Batches form while the database is busy, not on a timer: when fewer than
// MaxInFlight batches are being written, a request starts its batch at once
// (a lone request waits for nothing); otherwise it joins the newest queued
// batch (up to MaxBatch requests), which starts the moment a write
// finishes. So batches grow with the load and a request waits at most about
// one write ahead of its own. A caller of a batch does the writing; no
// goroutine outlives a call.
package groupcommit

import (
	"fmt"
	"sync"
	"time"
)

// Group batches items of type T (usually pointers that carry their own
// outcome, which Flush fills in).
type Group[T any] struct {
	// Flush writes one batch and records each item's outcome in the item.
	Flush func(items []T)
	// Failed records err as the outcome of every item of a batch whose
	// Flush panicked (a bug, a driver fault), so no caller hangs.
	Failed func(items []T, err error)
	// Window, when set, makes a batch linger that long before it is written
	// even when nothing else is (tests use it to prove batching); default 0.
	Window      time.Duration
	MaxBatch    int // default 200
	MaxInFlight int // batches written at once; default 1

	mu       sync.Mutex
	queue    []*batch[T] // waiting to be written, oldest first; the last may take more items
	inFlight int
	batches  int64
}

type batch[T any] struct {
	items []T
	done  chan struct{} // closed once written
	turn  chan struct{} // one waiter is told to write the batch (buffered 1)
}

func (g *Group[T]) maxBatch() int {
	if g.MaxBatch > 0 {
		return g.MaxBatch
	}
	return 200
}

func (g *Group[T]) maxInFlight() int {
	if g.MaxInFlight > 0 {
		return g.MaxInFlight
	}
	return 1
}

// Batches returns how many batches were written.
func (g *Group[T]) Batches() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.batches
}

// Idle reports whether nothing is queued or being written.
func (g *Group[T]) Idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight == 0 && len(g.queue) == 0
}

// Do queues item and returns once its batch has been written. It does not
// watch a context: the item is in a batch others are waiting for, and its
// outcome (committed or not) must be known when Do returns.
func (g *Group[T]) Do(item T) {
	g.mu.Lock()
	var b *batch[T]
	if n := len(g.queue); n > 0 && len(g.queue[n-1].items) < g.maxBatch() {
		b = g.queue[n-1]
	} else {
		b = &batch[T]{done: make(chan struct{}), turn: make(chan struct{}, 1)}
		g.queue = append(g.queue, b)
	}
	b.items = append(b.items, item)
	var start *batch[T]
	if g.inFlight < g.maxInFlight() {
		start, g.queue = g.queue[0], g.queue[1:]
		g.inFlight++
	}
	g.mu.Unlock()
	if start != nil {
		g.write(start)
	}
	for {
		select {
		case <-b.done:
			return
		case <-b.turn:
			g.write(b)
		}
	}
}

// write writes batch b, then hands the oldest queued batch (if any) to one
// of its callers, keeping the number of writes in flight.
func (g *Group[T]) write(b *batch[T]) {
	if g.Window > 0 {
		time.Sleep(g.Window)
		// Items that arrived meanwhile joined later batches; take them into this one.
		g.mu.Lock()
		for len(g.queue) > 0 && len(b.items)+len(g.queue[0].items) <= g.maxBatch() {
			q := g.queue[0]
			g.queue = g.queue[1:]
			b.items = append(b.items, q.items...)
			defer close(q.done)
		}
		g.mu.Unlock()
	}
	g.flushSafely(b.items)
	close(b.done)
	g.mu.Lock()
	g.batches++
	if len(g.queue) == 0 {
		g.inFlight--
		g.mu.Unlock()
		return
	}
	next := g.queue[0]
	g.queue = g.queue[1:]
	g.mu.Unlock()
	next.turn <- struct{}{}
}

func (g *Group[T]) flushSafely(items []T) {
	defer func() {
		if r := recover(); r != nil {
			if g.Failed != nil {
				g.Failed(items, fmt.Errorf("batch write failed: %v", r))
			}
		}
	}()
	g.Flush(items)
}
