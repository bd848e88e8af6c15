package seats_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/seats"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

func setup(t *testing.T, url string, capacity int) (*ent.Client, int) {
	d, err := db.Open(url, db.Options{MaxOpenConns: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := viewer.SystemContext(context.Background())
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := d.Client()
	u := strconv.FormatInt(time.Now().UnixNano()%1e9, 36) // one database serves several subtests
	site := c.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("考点" + u).SaveX(ctx)
	room := c.Room.Create().SetSiteID(site.ID).SetName("一").SetCapacity(capacity).SaveX(ctx)
	subj := c.Subject.Create().SetCode("A" + u).SetName("A").SetFeeCents(100).SaveX(ctx)
	reg := c.Region.Create().SetCode(u).SetName("深圳" + u).SaveX(ctx)
	now := time.Now()
	plan := c.ExamPlan.Create().SetName("p").SetRegionID(reg.ID).SetEnrollStartsAt(now).SetEnrollEndsAt(now.Add(time.Hour)).
		SetExamFrom(now).SetExamTo(now.Add(48 * time.Hour)).SaveX(ctx)
	s := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(room.ID).SetSiteID(site.ID).
		SetStartsAt(now.Add(24 * time.Hour)).SetDurationMinutes(90).SetCapacity(capacity).SaveX(ctx)
	return c, s.ID
}

func TestSeats(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		ctx := context.Background()
		t.Run("never oversold under concurrency", func(t *testing.T) {
			c, id := setup(t, url, 50)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, full := 0, 0
			for i := 0; i < 200; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := seats.Take(ctx, c, id)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, seats.ErrFull):
						full++
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			taken := c.ExamSession.GetX(viewer.SystemContext(ctx), id).Taken
			if ok != 50 || full != 150 || taken != 50 {
				t.Fatalf("ok=%d full=%d taken=%d, want 50/150/50", ok, full, taken)
			}
		})
		t.Run("a rolled-back take frees the seat; release stops at zero", func(t *testing.T) {
			c, id := setup(t, url, 1)
			err := txn.WithTx(ctx, c, func(ctx context.Context) error {
				if err := seats.Take(ctx, ent.FromContext(ctx), id); err != nil {
					return err
				}
				return errors.New("later step failed")
			})
			if err == nil || c.ExamSession.GetX(viewer.SystemContext(ctx), id).Taken != 0 {
				t.Fatal("seat kept after rollback")
			}
			if err := seats.Release(ctx, c, id); err != nil {
				t.Fatal(err)
			}
			if got := c.ExamSession.GetX(viewer.SystemContext(ctx), id).Taken; got != 0 {
				t.Fatalf("taken = %d after releasing an empty session", got)
			}
		})
		t.Run("many seats all or none; move keeps the old seat when the new is full", func(t *testing.T) {
			c, a := setup(t, url, 3)
			if err := seats.TakeMany(ctx, c, a, 4); !errors.Is(err, seats.ErrFull) {
				t.Fatalf("4 of 3: %v", err)
			}
			if err := seats.TakeMany(ctx, c, a, 3); err != nil {
				t.Fatal(err)
			}
			s := c.ExamSession.GetX(viewer.SystemContext(ctx), a)
			other := c.ExamSession.Create().SetPlanID(s.PlanID).SetSubjectID(s.SubjectID).SetRoomID(s.RoomID).SetSiteID(s.SiteID).
				SetStartsAt(s.StartsAt.Add(3 * time.Hour)).SetDurationMinutes(90).SetCapacity(1).SaveX(viewer.SystemContext(ctx))
			if err := seats.Take(ctx, c, other.ID); err != nil {
				t.Fatal(err)
			}
			err := txn.WithTx(ctx, c, func(ctx context.Context) error { return seats.Move(ctx, ent.FromContext(ctx), a, other.ID) })
			if !errors.Is(err, seats.ErrFull) {
				t.Fatalf("move into a full session: %v", err)
			}
			if got := c.ExamSession.GetX(viewer.SystemContext(ctx), a).Taken; got != 3 {
				t.Fatalf("old session lost its seat: taken %d", got)
			}
		})
	})
}
