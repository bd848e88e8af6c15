package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const waitFor = 5 * time.Second

func recv(t testing.TB, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want an event")
		}
		return e
	case <-time.After(waitFor):
		t.Fatal("timed out waiting for an event")
	}
	return Event{}
}

func expectNone(t testing.TB, ch <-chan Event, d time.Duration) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", e)
		}
		t.Fatal("channel closed unexpectedly")
	case <-time.After(d):
	}
}

func expectClosed(t testing.TB, ch <-chan Event) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed")
		}
	}
}

func eventually(t testing.TB, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		time.Sleep(time.Millisecond)
	}
}

func seqEvent(topic string, i int) Event {
	return Event{Topic: topic, Type: "SEQ", Payload: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, i))}
}

func seqOf(t testing.TB, e Event) int {
	t.Helper()
	var v struct{ Seq int }
	if err := json.Unmarshal(e.Payload, &v); err != nil {
		t.Fatalf("payload %q: %v", e.Payload, err)
	}
	return v.Seq
}

func TestLocalPublishSubscribe(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	ctx := context.Background()
	ch, err := bus.Subscribe(ctx, "session:42")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	in := []Event{
		{Topic: "session:42", Type: "SNAPSHOT", Payload: json.RawMessage(`{"key":"snap/1.jpg"}`), At: at},
		{Topic: "session:42", Type: "FOCUS_LOSS"},
	}
	before := time.Now()
	if err := bus.Publish(ctx, in...); err != nil {
		t.Fatal(err)
	}
	got := recv(t, ch)
	if got.Type != "SNAPSHOT" || string(got.Payload) != `{"key":"snap/1.jpg"}` || !got.At.Equal(at) {
		t.Fatalf("got %+v", got)
	}
	got = recv(t, ch)
	if got.Type != "FOCUS_LOSS" || got.At.Before(before) {
		t.Fatalf("got %+v, want At stamped", got)
	}
	if !in[1].At.IsZero() {
		t.Fatal("Publish modified the caller's slice")
	}
	// Delivered is counted just after the hand-off, so allow a moment.
	eventually(t, func() bool { s := bus.Stats(); return s.Published == 2 && s.Delivered == 2 && s.Dropped == 0 },
		func() string { return fmt.Sprintf("stats %+v", bus.Stats()) })
}

// Every subscriber receives one event with the same Seq; events get
// distinct, nonzero ones. The caller's events keep none.
func TestLocalSeq(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	ctx := context.Background()
	a, _ := bus.Subscribe(ctx, "session:1")
	b, _ := bus.Subscribe(ctx, "session:1")
	in := []Event{{Topic: "session:1", Type: "A"}, {Topic: "session:1", Type: "B"}}
	if err := bus.Publish(ctx, in...); err != nil {
		t.Fatal(err)
	}
	a1, a2, b1, b2 := recv(t, a), recv(t, a), recv(t, b), recv(t, b)
	if a1.Seq == 0 || a1.Seq == a2.Seq || a1.Seq != b1.Seq || a2.Seq != b2.Seq {
		t.Fatalf("seqs: a %d %d, b %d %d", a1.Seq, a2.Seq, b1.Seq, b2.Seq)
	}
	if in[0].Seq != 0 || in[1].Seq != 0 {
		t.Fatal("Publish numbered the caller's events")
	}
	if j, _ := json.Marshal(a1); bytes.Contains(j, []byte("Seq")) {
		t.Fatalf("Seq is sent between processes: %s", j)
	}
}

func TestLocalValidation(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	ctx := context.Background()
	if err := bus.Publish(ctx, Event{Type: "X"}); !errors.Is(err, ErrNoTopic) {
		t.Fatalf("empty topic: %v", err)
	}
	if err := bus.Publish(ctx, Event{Topic: "a", Payload: json.RawMessage(`{bad`)}); err == nil {
		t.Fatal("invalid JSON payload accepted")
	}
	if _, err := bus.Subscribe(ctx, ""); !errors.Is(err, ErrNoTopic) {
		t.Fatalf("empty subscribe topic: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := bus.Publish(done, Event{Topic: "a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("publish on done ctx: %v", err)
	}
	if _, err := bus.Subscribe(done, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("subscribe on done ctx: %v", err)
	}
	if err := bus.Publish(ctx); err != nil {
		t.Fatalf("empty publish: %v", err)
	}
}

func TestLocalTopicIsolation(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	ctx := context.Background()
	a, _ := bus.Subscribe(ctx, "session:1")
	b, _ := bus.Subscribe(ctx, "session:2")
	a2, _ := bus.Subscribe(ctx, "session:1")

	if err := bus.Publish(ctx, seqEvent("session:1", 1), seqEvent("user:7", 2)); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(ctx, seqEvent("session:2", 3)); err != nil {
		t.Fatal(err)
	}
	if s := seqOf(t, recv(t, a)); s != 1 {
		t.Fatalf("a got %d", s)
	}
	if s := seqOf(t, recv(t, a2)); s != 1 {
		t.Fatalf("a2 got %d", s)
	}
	// b's first event must be its own, not session:1's.
	if s := seqOf(t, recv(t, b)); s != 3 {
		t.Fatalf("b got %d", s)
	}
	expectNone(t, a, 50*time.Millisecond)
	expectNone(t, b, 10*time.Millisecond)
}

func TestLocalContextCancelClosesChannel(t *testing.T) {
	defer goleak.VerifyNone(t)
	bus := NewLocal()
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := bus.Subscribe(ctx, "session:1")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := bus.Subscribe(context.Background(), "session:1")
	cancel()
	expectClosed(t, ch)

	// The cancelled subscriber is gone; the other one still works.
	if err := bus.Publish(context.Background(), seqEvent("session:1", 1)); err != nil {
		t.Fatal(err)
	}
	recv(t, other)
	bus.mu.RLock()
	n := len(bus.topics["session:1"])
	bus.mu.RUnlock()
	if n != 1 {
		t.Fatalf("%d subscribers left, want 1", n)
	}
}

func TestLocalCloseClosesAll(t *testing.T) {
	defer goleak.VerifyNone(t)
	bus := NewLocal()
	ctx := context.Background()
	var chans []<-chan Event
	for i := range 10 {
		ch, err := bus.Subscribe(ctx, fmt.Sprintf("session:%d", i%3))
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	// A subscriber that never reads, with events pending, must not hold up Close.
	_ = bus.Publish(ctx, seqEvent("session:0", 1), seqEvent("session:0", 2))
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range chans {
		expectClosed(t, ch)
	}
	if err := bus.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := bus.Publish(ctx, seqEvent("session:0", 3)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := bus.Subscribe(ctx, "session:0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
}

func TestLocalSlowSubscriberDrops(t *testing.T) {
	const buf, n = 4, 1000
	bus := NewLocal(WithBuffer(buf))
	defer bus.Close()
	ctx := context.Background()
	slow, _ := bus.Subscribe(ctx, "session:1") // never read until the end
	fast, _ := bus.Subscribe(ctx, "session:1")

	start := time.Now()
	for i := range n {
		if err := bus.Publish(ctx, seqEvent("session:1", i)); err != nil {
			t.Fatal(err)
		}
		// The fast subscriber gets every event although slow is stuck.
		if got := seqOf(t, recv(t, fast)); got != i {
			t.Fatalf("fast got %d, want %d", got, i)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("publishing took %v", d)
	}

	// slow holds at most buf buffered events plus one in its forwarder.
	got, last := 0, -1
	for {
		select {
		case e := <-slow:
			s := seqOf(t, e)
			if s <= last {
				t.Fatalf("slow got %d after %d", s, last)
			}
			got, last = got+1, s
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
	if got < buf || got > buf+1 {
		t.Fatalf("slow received %d, want %d or %d", got, buf, buf+1)
	}
	eventually(t, func() bool {
		s := bus.Stats()
		return s.Dropped == uint64(n-got) && s.Published == n && s.Delivered == uint64(n+got)
	}, func() string { return fmt.Sprintf("stats %+v, slow got %d", bus.Stats(), got) })
}

func TestLocalConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	const (
		publishers = 8
		perPub     = 2000
		topics     = 4
		stable     = 4 // subscribers per topic that read everything
		churners   = 16
	)
	total := publishers * perPub
	bus := NewLocal(WithBuffer(total)) // large enough that stable readers never drop
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var counts [topics * stable]atomic.Int64
	var readers sync.WaitGroup
	for tp := range topics {
		for s := range stable {
			ch, err := bus.Subscribe(ctx, fmt.Sprintf("session:%d", tp))
			if err != nil {
				t.Fatal(err)
			}
			readers.Add(1)
			go func(c *atomic.Int64) {
				defer readers.Done()
				for range ch {
					c.Add(1)
				}
			}(&counts[tp*stable+s])
		}
	}

	var wg sync.WaitGroup
	stopChurn := make(chan struct{})
	for i := range churners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopChurn:
					return
				default:
				}
				sctx, scancel := context.WithCancel(ctx)
				ch, err := bus.Subscribe(sctx, fmt.Sprintf("session:%d", i%topics))
				if err != nil {
					scancel()
					t.Error(err)
					return
				}
				select {
				case <-ch:
				case <-time.After(time.Millisecond):
				}
				scancel()
				for range ch { // must close after cancel
				}
			}
		}()
	}

	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			for i := range perPub {
				if err := bus.Publish(ctx, seqEvent(fmt.Sprintf("session:%d", (p+i)%topics), i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	pubs.Wait()
	close(stopChurn)
	wg.Wait()

	want := int64(total / topics)
	deadline := time.Now().Add(waitFor)
	for i := range counts {
		for counts[i].Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := counts[i].Load(); got != want {
			t.Fatalf("stable subscriber %d got %d, want %d", i, got, want)
		}
	}
	if s := bus.Stats(); s.Published != uint64(total) {
		t.Fatalf("published %d, want %d", s.Published, total)
	}
	bus.Close()
	readers.Wait()
}

// BenchmarkLocalFanout measures one publisher feeding 100 subscribers of a
// topic. "paced" waits whenever readers fall half a buffer behind, so it
// reports sustainable delivery throughput; "flood" never waits and shows the
// publisher's cost and how much a flood drops.
func BenchmarkLocalFanout(b *testing.B) {
	b.Run("paced", func(b *testing.B) { benchLocalFanout(b, true) })
	b.Run("flood", func(b *testing.B) { benchLocalFanout(b, false) })
}

func benchLocalFanout(b *testing.B, paced bool) {
	const subs, buffer = 100, 256
	bus := NewLocal(WithBuffer(buffer))
	ctx := context.Background()
	var readers sync.WaitGroup
	var got [subs]atomic.Int64
	for r := range subs {
		ch, err := bus.Subscribe(ctx, "announcements")
		if err != nil {
			b.Fatal(err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range ch {
				got[r].Add(1)
			}
		}()
	}
	evt := Event{Topic: "announcements", Type: "NOTICE", Payload: json.RawMessage(`{"id":1}`), At: time.Now()}
	// caughtUp waits until every reader has received n events; with at most
	// one buffer outstanding per reader nothing is dropped.
	caughtUp := func(n int64) {
		for r := range got {
			for got[r].Load() < n {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}
	settled := func(n uint64) {
		for {
			s := bus.Stats()
			if s.Delivered+s.Dropped >= n*subs {
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if paced && i%(buffer/2) == 0 && i >= buffer/2 {
			caughtUp(int64(i - buffer/2))
		}
		if err := bus.Publish(ctx, evt); err != nil {
			b.Fatal(err)
		}
	}
	settled(uint64(b.N))
	elapsed := time.Since(start)
	b.StopTimer()
	s := bus.Stats()
	b.ReportMetric(float64(s.Delivered)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(s.Dropped)/float64(uint64(b.N)*subs)*100, "%dropped")
	bus.Close()
	readers.Wait()
}
