package exam

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSaverSurvivesAPanickingWrite: a write that panics fails the saves of
// its batch with an error; no caller, and no batch queued behind it, waits
// forever.
func TestSaverSurvivesAPanickingWrite(t *testing.T) {
	s := &Saver{MaxInFlight: 1} // no client: every write panics
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.save(context.Background(), &pending{attemptID: 1, questionID: i + 1, seq: 1, at: time.Now()})
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("saves still waiting after a panicking write")
	}
	close(errs)
	for err := range errs {
		if err == nil || !strings.Contains(err.Error(), "answer batch write failed") {
			t.Fatalf("save after a panicking write: %v", err)
		}
	}
	if !s.groupOf().Idle() {
		t.Fatal("saver left with batches in flight or queued")
	}
}
