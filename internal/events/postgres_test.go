package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/kaowu/kaowu/internal/testenv"
)

// logBuf captures what a bus logs, for assertions, and echoes it to the test.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	return l.out.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newPG starts a bus that is closed when the test ends (before the test
// database is dropped, since cleanups run last-in first-out).
func newPG(t testing.TB, dsn string, opts ...Option) (*Postgres, *logBuf) {
	t.Helper()
	lb := &logBuf{out: t.Output()}
	opts = append([]Option{
		WithLogger(slog.New(slog.NewTextHandler(lb, nil))),
		WithBackoff(10*time.Millisecond, 200*time.Millisecond),
	}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := NewPostgres(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, lb
}

// terminate ends the bus connections with the given application_name in the
// test database and returns how many it ended.
func terminate(t testing.TB, dsn, appName string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
		appName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPostgresCrossProcessExactlyOnce(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	subA, _ := a.Subscribe(ctx, "session:42")
	subB, _ := b.Subscribe(ctx, "session:42")
	subB2, _ := b.Subscribe(ctx, "session:42")
	otherB, _ := b.Subscribe(ctx, "session:43")

	if err := a.Publish(ctx, Event{Topic: "session:42", Type: "FOCUS_LOSS", Payload: json.RawMessage(`{"user":7}`)}); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan Event{"A": subA, "B": subB, "B2": subB2} {
		e := recv(t, ch)
		if e.Type != "FOCUS_LOSS" || string(e.Payload) != `{"user":7}` || e.At.IsZero() {
			t.Fatalf("%s got %+v", name, e)
		}
	}
	// And the other direction.
	if err := b.Publish(ctx, Event{Topic: "session:42", Type: "SNAPSHOT"}); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan Event{subA, subB, subB2} {
		if e := recv(t, ch); e.Type != "SNAPSHOT" {
			t.Fatalf("got %+v", e)
		}
	}
	// Nobody gets a second copy (A must skip its own batch coming back).
	for _, ch := range []<-chan Event{subA, subB, subB2, otherB} {
		expectNone(t, ch, 300*time.Millisecond)
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Received != 1 || sb.Received != 1 || sa.Sent != 1 || sb.Sent != 1 {
		t.Fatalf("stats A %+v B %+v", sa, sb)
	}
}

func TestPostgresBatching(t *testing.T) {
	const n = 1000
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	b, _ := newPG(t, dsn, WithBuffer(n))
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")

	for i := range n {
		if err := a.Publish(ctx, seqEvent("session:1", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if got := seqOf(t, recv(t, sub)); got != i {
			t.Fatalf("got seq %d, want %d (lost or reordered)", got, i)
		}
	}
	// B can hear the last batch before A has read the server's reply.
	eventually(t, func() bool { return a.Stats().Sent == n }, func() string { return fmt.Sprintf("stats %+v", a.Stats()) })
	s := a.Stats()
	t.Logf("%d events in %d notifies", s.Sent, s.Notifies)
	if s.Notifies > n/10 {
		t.Fatalf("want %d events in at most %d notifies, stats %+v", n, n/10, s)
	}
	if s.Unsent != 0 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPostgresSplitsLargeBatches(t *testing.T) {
	const n = 200
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	b, _ := newPG(t, dsn, WithBuffer(n))
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")

	// ~1 KB events: a 64-event batch is ~64 KB and must be split into
	// payloads under 8000 bytes, or the server would refuse them.
	pad := strings.Repeat("x", 1000)
	for i := range n {
		e := Event{Topic: "session:1", Type: "SEQ", Payload: json.RawMessage(fmt.Sprintf(`{"seq":%d,"pad":%q}`, i, pad))}
		if err := a.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if got := seqOf(t, recv(t, sub)); got != i {
			t.Fatalf("got seq %d, want %d", got, i)
		}
	}
	eventually(t, func() bool { return a.Stats().Sent == n }, func() string { return fmt.Sprintf("stats %+v", a.Stats()) })
	s := a.Stats()
	if s.Errors != 0 || s.Unsent != 0 || s.Oversize != 0 || s.Notifies < n/7 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPostgresOversizeEvent(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, logA := newPG(t, dsn)
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	subA, _ := a.Subscribe(ctx, "session:1")
	subB, _ := b.Subscribe(ctx, "session:1")

	big := Event{Topic: "session:1", Type: "BIG", Payload: json.RawMessage(`{"secret":"` + strings.Repeat("s", 9000) + `"}`)}
	if err := a.Publish(ctx, big, seqEvent("session:1", 1)); err != nil {
		t.Fatal(err)
	}
	// Locally both arrive; remotely only the one that fits.
	if e := recv(t, subA); e.Type != "BIG" {
		t.Fatalf("A got %+v", e)
	}
	recv(t, subA)
	if got := seqOf(t, recv(t, subB)); got != 1 {
		t.Fatalf("B got %d", got)
	}
	expectNone(t, subB, 200*time.Millisecond)
	s := a.Stats() // settled during expectNone
	if s.Oversize != 1 || s.Sent != 1 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
	logs := logA.String()
	if !strings.Contains(logs, "too large") {
		t.Fatalf("oversize not logged: %s", logs)
	}
	if strings.Contains(logs, "sssss") {
		t.Fatal("payload was logged")
	}
}

func TestPostgresListenerReconnect(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")

	_ = a.Publish(ctx, seqEvent("session:1", 0))
	if got := seqOf(t, recv(t, sub)); got != 0 {
		t.Fatalf("got %d", got)
	}
	if n := terminate(t, dsn, "kaowu-events-listener"); n != 2 {
		t.Fatalf("terminated %d listeners, want 2", n)
	}
	// Events sent while B is away may be lost (at-most-once); keep
	// publishing until B hears again, which proves it reconnected.
	assertResumes(t, a, sub)
	if s := b.Stats(); s.Reconnects < 1 || s.Errors < 1 {
		t.Fatalf("B stats %+v", s)
	}
}

func TestPostgresSenderReconnect(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")

	_ = a.Publish(ctx, seqEvent("session:1", 0))
	recv(t, sub)
	if n := terminate(t, dsn, "kaowu-events-sender"); n != 2 {
		t.Fatalf("terminated %d senders, want 2", n)
	}
	assertResumes(t, a, sub)
	if s := a.Stats(); s.Reconnects < 1 || s.Errors < 1 {
		t.Fatalf("A stats %+v", s)
	}
}

func TestPostgresSenderIdleDeadConnectionLosesNothing(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")
	_ = a.Publish(ctx, seqEvent("session:1", 0))
	recv(t, sub)
	terminate(t, dsn, "kaowu-events-sender")
	// After idling, the sender pings before sending, notices the dead
	// connection and sends the batch on a new one.
	time.Sleep(idlePing + 200*time.Millisecond)
	_ = a.Publish(ctx, seqEvent("session:1", 1))
	if got := seqOf(t, recv(t, sub)); got != 1 {
		t.Fatalf("got %d", got)
	}
	eventually(t, func() bool { s := a.Stats(); return s.Sent == 2 && s.Unsent == 0 && s.Reconnects == 1 },
		func() string { return fmt.Sprintf("A stats %+v", a.Stats()) })
}

// assertResumes publishes increasing sequence numbers on from until sub
// receives one of them, then checks that later events all arrive.
func assertResumes(t *testing.T, from *Postgres, sub <-chan Event) {
	t.Helper()
	ctx := context.Background()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	seq := 1
	_ = from.Publish(ctx, seqEvent("session:1", seq))
wait:
	for {
		select {
		case e := <-sub:
			if seqOf(t, e) >= 1 {
				break wait
			}
		case <-tick.C:
			seq++
			_ = from.Publish(ctx, seqEvent("session:1", seq))
		case <-deadline:
			t.Fatal("no event after the connection was killed")
		}
	}
	// Drain stragglers of the probing loop, then the bus is steady again.
	for {
		select {
		case <-sub:
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break
	}
	for i := range 10 {
		_ = from.Publish(ctx, seqEvent("session:1", 1000+i))
	}
	for i := range 10 {
		if got := seqOf(t, recv(t, sub)); got != 1000+i {
			t.Fatalf("got %d, want %d", got, 1000+i)
		}
	}
}

func TestPostgresQueueDropsOldest(t *testing.T) {
	dsn := testenv.Postgres(t)
	// The sender waits out a long window for a batch it never fills, so
	// the small queue overflows.
	a, _ := newPG(t, dsn, WithQueueSize(8), WithBatch(1000, 300*time.Millisecond))
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")
	for i := range 100 {
		_ = a.Publish(ctx, seqEvent("session:1", i))
	}
	for i := 92; i < 100; i++ {
		if got := seqOf(t, recv(t, sub)); got != i {
			t.Fatalf("got %d, want %d (newest kept)", got, i)
		}
	}
	eventually(t, func() bool { s := a.Stats(); return s.Unsent == 92 && s.Sent == 8 },
		func() string { return fmt.Sprintf("stats %+v", a.Stats()) })
}

func TestPostgresCloseFlushesAndLeavesNoGoroutines(t *testing.T) {
	dsn := testenv.Postgres(t)
	b, _ := newPG(t, dsn)
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")

	func() {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		a, err := NewPostgres(ctx, dsn, WithBatch(64, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		subA, _ := a.Subscribe(ctx, "session:1")
		_ = a.Publish(ctx, seqEvent("session:1", 1))
		// Close sends what is still queued, though the batch window is long.
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, subA)
		if err := a.Publish(ctx, seqEvent("session:1", 2)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Publish after Close: %v", err)
		}
		if _, err := a.Subscribe(ctx, "session:1"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Subscribe after Close: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	if got := seqOf(t, recv(t, sub)); got != 1 {
		t.Fatalf("got %d", got)
	}
}

func TestPostgresConnectErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := NewPostgres(ctx, "postgres://postgres@127.0.0.1:1/nope?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("connected to a closed port")
	}
	dsn := testenv.PostgresAdminDSN(t)
	if _, err := NewPostgres(ctx, dsn, WithChannel(strings.Repeat("c", 64))); err == nil {
		t.Fatal("64-byte channel name accepted")
	}
	if _, err := NewPostgres(ctx, "::not a dsn::"); err == nil {
		t.Fatal("bad DSN accepted")
	}
}

func TestPostgresCustomChannel(t *testing.T) {
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn, WithChannel("Proctor Events"))
	b, _ := newPG(t, dsn, WithChannel("Proctor Events"))
	c, _ := newPG(t, dsn) // default channel: must not hear the others
	ctx := context.Background()
	subB, _ := b.Subscribe(ctx, "announcements")
	subC, _ := c.Subscribe(ctx, "announcements")
	_ = a.Publish(ctx, Event{Topic: "announcements", Type: "NOTICE"})
	if e := recv(t, subB); e.Type != "NOTICE" {
		t.Fatalf("got %+v", e)
	}
	expectNone(t, subC, 200*time.Millisecond)
}

// The sender's NOTIFY-only transactions commit without waiting for the
// WAL flush; the listener and the data pool keep the server's setting.
// (That the server accepts the setting is shown by every test above,
// which connects a sender with it.)
func TestPostgresSenderCommitsAsynchronously(t *testing.T) {
	p, _ := newPG(t, testenv.Postgres(t))
	if got := p.sendCfg.RuntimeParams["synchronous_commit"]; got != "off" {
		t.Fatalf("sender synchronous_commit = %q, want off", got)
	}
	if got, ok := p.listenCfg.RuntimeParams["synchronous_commit"]; ok {
		t.Fatalf("listener synchronous_commit set to %q", got)
	}
}

func TestRing(t *testing.T) {
	r := ring{buf: make([]Event, 3)}
	drops := 0
	for i := range 5 {
		if r.push(seqEvent("t", i)) {
			drops++
		}
	}
	if drops != 2 || r.n != 3 {
		t.Fatalf("drops %d n %d", drops, r.n)
	}
	got := r.pop(nil, 2)
	got = r.pop(got, 10)
	if len(got) != 3 || seqOf(t, got[0]) != 2 || seqOf(t, got[2]) != 4 || r.n != 0 {
		t.Fatalf("pop %+v", got)
	}
}

func BenchmarkPostgresCrossProcess(b *testing.B) {
	const subs = 10
	dsn := testenv.Postgres(b)
	quiet := WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	pa, err := NewPostgres(context.Background(), dsn, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer pa.Close()
	pb, err := NewPostgres(context.Background(), dsn, quiet, WithBuffer(4096))
	if err != nil {
		b.Fatal(err)
	}
	defer pb.Close()
	ctx := context.Background()
	var readers sync.WaitGroup
	for range subs {
		ch, _ := pb.Subscribe(ctx, "session:1")
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range ch {
			}
		}()
	}
	evt := Event{Topic: "session:1", Type: "FOCUS_LOSS", Payload: json.RawMessage(`{"user":12345,"session":42}`), At: time.Now()}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		// Measure sustained throughput, not the queue overflowing.
		for pa.queued() > 4096 {
			time.Sleep(50 * time.Microsecond)
		}
		_ = pa.Publish(ctx, evt)
	}
	want := uint64(b.N) * subs
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := pb.Stats()
		if s.Delivered+s.Dropped >= want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d deliveries; A %+v B %+v", s.Delivered+s.Dropped, want, pa.Stats(), s)
		}
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sa, sb := pa.Stats(), pb.Stats()
	b.ReportMetric(float64(sb.Delivered)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(sa.Sent)/float64(max(sa.Notifies, 1)), "events/notify")
	b.ReportMetric(float64(sa.Unsent), "unsent")
	b.ReportMetric(float64(sb.Dropped)/float64(want)*100, "%sub-dropped")
	pa.Close()
	pb.Close()
	readers.Wait()
}

func TestPostgresListenerHealthCheck(t *testing.T) {
	const n = 2000
	dsn := testenv.Postgres(t)
	a, _ := newPG(t, dsn)
	// A tiny interval makes the listener's wait time out constantly, also
	// in the middle of incoming notifications; nothing may be lost.
	b, _ := newPG(t, dsn, WithHealthCheck(time.Millisecond), WithBuffer(n))
	ctx := context.Background()
	sub, _ := b.Subscribe(ctx, "session:1")
	time.Sleep(50 * time.Millisecond)
	for i := range n {
		_ = a.Publish(ctx, seqEvent("session:1", i))
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range n {
		if got := seqOf(t, recv(t, sub)); got != i {
			t.Fatalf("got %d, want %d", got, i)
		}
	}
	if s := b.Stats(); s.Errors != 0 || s.Reconnects != 0 {
		t.Fatalf("B stats %+v", s)
	}
}
