package groupcommit

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type item struct {
	n     int
	batch int // the size of the batch it was written in
	err   error
}

// doAll runs g.Do for n items at once (after the first, pause) and fails
// the test if a caller is still waiting after 10 s.
func doAll(t *testing.T, g *Group[*item], n int, pause time.Duration) []*item {
	t.Helper()
	items := make([]*item, n)
	var wg sync.WaitGroup
	for i := range items {
		items[i] = &item{n: i}
		wg.Add(1)
		go func() { defer wg.Done(); g.Do(items[i]) }()
		if i == 0 {
			time.Sleep(pause)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("callers still waiting")
	}
	return items
}

func TestBatchesFormUnderLoadAndEveryCallerIsAnswered(t *testing.T) {
	var written atomic.Int64
	var inFlight, maxSeen atomic.Int32
	g := &Group[*item]{MaxBatch: 10, Flush: func(items []*item) {
		if n := inFlight.Add(1); n > maxSeen.Load() {
			maxSeen.Store(n)
		}
		time.Sleep(5 * time.Millisecond) // a slow write: others queue meanwhile
		for _, it := range items {
			it.batch = len(items)
		}
		written.Add(int64(len(items)))
		inFlight.Add(-1)
	}}
	items := doAll(t, g, 100, 0)
	if written.Load() != 100 {
		t.Fatalf("%d items written, want 100", written.Load())
	}
	biggest := 0
	for _, it := range items {
		if it.batch == 0 || it.batch > 10 {
			t.Fatalf("item %d answered from a batch of %d", it.n, it.batch)
		}
		biggest = max(biggest, it.batch)
	}
	if biggest < 2 || g.Batches() >= 100 {
		t.Errorf("no batching under load: %d batches, largest %d", g.Batches(), biggest)
	}
	if maxSeen.Load() != 1 {
		t.Errorf("%d batches written at once, want 1 (MaxInFlight default)", maxSeen.Load())
	}
	if !g.Idle() {
		t.Error("group not idle after every caller returned")
	}
}

func TestALoneItemWaitsForNothing(t *testing.T) {
	g := &Group[*item]{Flush: func(items []*item) { items[0].batch = len(items) }}
	it := &item{}
	g.Do(it)
	if it.batch != 1 || g.Batches() != 1 {
		t.Fatalf("lone item: batch %d, batches %d", it.batch, g.Batches())
	}
}

func TestAPanickingFlushFailsItsBatchAndTheQueueMovesOn(t *testing.T) {
	var calls atomic.Int32
	var panicked []*item // the first batch, whichever callers reached it first
	g := &Group[*item]{
		Flush: func(items []*item) {
			if calls.Add(1) == 1 {
				panicked = slices.Clone(items)
				time.Sleep(5 * time.Millisecond)
				panic("driver fault")
			}
		},
		Failed: func(items []*item, err error) {
			for _, it := range items {
				it.err = err
			}
		},
	}
	items := doAll(t, g, 20, time.Millisecond)
	if len(panicked) == 0 {
		t.Fatal("no batch was written")
	}
	for _, it := range panicked {
		if it.err == nil || !strings.Contains(it.err.Error(), "driver fault") {
			t.Fatalf("item %d of the panicking batch: %v, want the panic as an error", it.n, it.err)
		}
	}
	failed := 0
	for _, it := range items {
		if it.err != nil {
			failed++
		}
	}
	if failed == len(items) {
		t.Error("every batch failed: the batches after the panicking one were not written")
	}
	if !g.Idle() {
		t.Error("group not idle")
	}
}
