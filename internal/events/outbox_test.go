package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestOutboxFlushAfterCommit(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	ctx := context.Background()
	ch, _ := bus.Subscribe(ctx, "session:1")

	var ob Outbox
	txCtx := WithOutbox(ctx, &ob)
	if OutboxFrom(txCtx) != &ob {
		t.Fatal("OutboxFrom did not return the outbox")
	}
	if OutboxFrom(ctx) != nil {
		t.Fatal("OutboxFrom on a plain context is not nil")
	}
	// Inside the "transaction": nothing is published yet.
	if err := Emit(txCtx, bus, seqEvent("session:1", 1)); err != nil {
		t.Fatal(err)
	}
	OutboxFrom(txCtx).Add(seqEvent("session:1", 2), seqEvent("session:1", 3))
	expectNone(t, ch, 30*time.Millisecond)
	if ob.Len() != 3 {
		t.Fatalf("len %d", ob.Len())
	}

	if err := ob.Flush(ctx, bus); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if got := seqOf(t, recv(t, ch)); got != i {
			t.Fatalf("got %d, want %d", got, i)
		}
	}
	// Flush resets: a second one publishes nothing.
	if err := ob.Flush(ctx, bus); err != nil {
		t.Fatal(err)
	}
	expectNone(t, ch, 30*time.Millisecond)
}

func TestOutboxDiscard(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	ctx := context.Background()
	ch, _ := bus.Subscribe(ctx, "session:1")
	var ob Outbox
	ob.Add(seqEvent("session:1", 1))
	ob.Discard() // rolled back
	if err := ob.Flush(ctx, bus); err != nil {
		t.Fatal(err)
	}
	expectNone(t, ch, 30*time.Millisecond)
	if s := bus.Stats(); s.Published != 0 {
		t.Fatalf("published %d after discard", s.Published)
	}
}

func TestOutboxConcurrentAdd(t *testing.T) {
	var ob Outbox
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				ob.Add(seqEvent("session:1", i*100+j))
			}
		}()
	}
	wg.Wait()
	if ob.Len() != 5000 {
		t.Fatalf("len %d, want 5000", ob.Len())
	}
	bus := NewLocal(WithBuffer(5000))
	defer bus.Close()
	ch, _ := bus.Subscribe(context.Background(), "session:1")
	if err := ob.Flush(context.Background(), bus); err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]bool)
	for range 5000 {
		seen[seqOf(t, recv(t, ch))] = true
	}
	if len(seen) != 5000 {
		t.Fatalf("%d distinct events, want 5000", len(seen))
	}
}

func TestOutboxErrors(t *testing.T) {
	var ob Outbox
	ob.Add(Event{Topic: ""})
	bus := NewLocal()
	defer bus.Close()
	if err := ob.Flush(context.Background(), bus); !errors.Is(err, ErrNoTopic) {
		t.Fatalf("flush of invalid event: %v", err)
	}
	if ob.Len() != 0 {
		t.Fatal("outbox not reset after a failed flush")
	}
	if err := ob.Flush(context.Background(), nil); err == nil {
		t.Fatal("nil bus accepted")
	}
	// Without an outbox Emit publishes at once.
	ch, _ := bus.Subscribe(context.Background(), "user:7")
	if err := Emit(context.Background(), bus, seqEvent("user:7", 9)); err != nil {
		t.Fatal(err)
	}
	if got := seqOf(t, recv(t, ch)); got != 9 {
		t.Fatalf("got %d", got)
	}
}
