// Command kaowu-bench measures kaowu's hot paths beside the raw engine
// figure of the same work, in the same run, and prints their ratio.
//
//	kaowu-bench enroll [-n 2000] [-c 32] [-db postgres://…]
//	kaowu-bench saves|snapshots|deliveries|exam [flags]   (see exam.go)
//
// enroll: a fresh PostgreSQL database, kaowu serving it on a loopback port,
// n candidates with complete profiles; then n concurrent `enroll` mutations
// over HTTP (GraphQL: authentication, privacy, validation, audit, seat
// UPDATE, insert) against n raw seat transactions (BEGIN; conditional
// UPDATE; INSERT; COMMIT) on the same database with the same concurrency.
// It only talks to 127.0.0.1 and stops by itself.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/organization"
	entprofile "github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph"
	"github.com/kaowu/kaowu/internal/app"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/config"
	"github.com/kaowu/kaowu/internal/enrollment"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

func main() {
	if len(os.Args) >= 2 {
		switch os.Args[1] {
		case "saves", "snapshots", "deliveries", "exam":
			examMain(os.Args[1], os.Args[2:])
			return
		}
	}
	if len(os.Args) < 2 || os.Args[1] != "enroll" {
		fmt.Fprintln(os.Stderr, "usage: kaowu-bench enroll|saves|snapshots|deliveries|exam [flags]   (-h for the flags)")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("enroll", flag.ExitOnError)
	n := fs.Int("n", 2000, "enrollments per phase")
	c := fs.Int("c", 32, "concurrent clients")
	dsn := fs.String("db", env("KAOWU_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "admin DSN of a PostgreSQL server")
	conns := fs.Int("conns", 20, "database pool size (both phases)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the GraphQL phase to this file")
	_ = fs.Parse(os.Args[2:])
	profilePath = *cpuprofile
	if err := run(*dsn, *n, *c, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "kaowu-bench:", err)
		os.Exit(1)
	}
}

var profilePath string

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(adminDSN string, n, c, conns int) error {
	ctx := context.Background()
	dbURL, drop, err := freshDatabase(adminDSN)
	if err != nil {
		return err
	}
	defer drop()
	dir, _ := os.MkdirTemp("", "kaowu-bench-")
	defer os.RemoveAll(dir)
	cfg := &config.Config{Env: "development", Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL,
		Secret: []byte("bench-secret-0123456789abcdef0123456789"), Argon2: "fast", SessionIdle: time.Hour,
		SessionMax: 12 * time.Hour, DBMaxConns: conns, PublicURL: "http://127.0.0.1", PaymentGateway: "none",
		MaxUploadBytes: 1 << 20, MaxImageBytes: 1 << 20, MaxPDFBytes: 1 << 20}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Schema: graph.Schema})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = a.Serve(sctx, ln) }()
	endpoint := "http://" + ln.Addr().String() + "/graphql"

	fmt.Printf("seeding %d + %d candidates with complete profiles…\n", n, n)
	f, err := seed(ctx, a, 2*n)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}

	// Phase 1: GraphQL.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	var firstErr sync.Once
	q0 := a.DB.Queries()
	if profilePath != "" {
		if f, err := os.Create(profilePath); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	gqlTime := parallel(c, func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			t0 := time.Now()
			err := enroll(client, endpoint, f.tokens[i], f.sessionGQL[i%len(f.sessionGQL)])
			lat[i] = time.Since(t0)
			if err != nil {
				failed.Add(1)
				firstErr.Do(func() { fmt.Fprintln(os.Stderr, "first GraphQL error:", err) })
			}
		}
	})
	stmts := float64(a.DB.Queries()-q0) / float64(n)
	if profilePath != "" {
		pprof.StopCPUProfile()
	}
	// Phase 2: the same seat transaction straight on the database.
	next.Store(0)
	var rawFailed atomic.Int64
	rawTime := parallel(c, func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			s := f.sessionRaw[i%len(f.sessionRaw)]
			_, err := enrollment.RawSeatTx(ctx, a.DB.SQL, a.DB.Dialect, enrollment.RawSeat{
				SessionID: s, SiteID: f.siteID, CandidateID: f.userIDs[n+i], PlanID: f.planID,
				SubjectID: f.subjectID, FeeCents: 12000, At: time.Now()})
			if err != nil {
				rawFailed.Add(1)
			}
		}
	})
	taken, err := a.Client.ExamSession.Query().Aggregate(ent.Sum("taken")).Int(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	slices.Sort(lat)
	gqlRate := float64(n) / gqlTime.Seconds()
	rawRate := float64(n) / rawTime.Seconds()
	fmt.Printf("\nPostgreSQL, %d concurrent clients, %d enrollments per phase, pool %d\n", c, n, conns)
	fmt.Printf("  GraphQL enroll:   %7.0f enrollments/s  (p50 %v, p99 %v, errors %d)\n", gqlRate,
		lat[n/2].Round(time.Millisecond), lat[n*99/100].Round(time.Millisecond), failed.Load())
	fmt.Printf("                    %7.1f SQL statements per enrollment (raw: 2)\n", stmts)
	fmt.Printf("  raw seat tx:      %7.0f enrollments/s  (errors %d)\n", rawRate, rawFailed.Load())
	fmt.Printf("  ratio:            %7.2f  (target ≥ 0.50)\n", gqlRate/rawRate)
	fmt.Printf("  seats taken:      %d (want %d)\n", taken, 2*n-int(failed.Load())-int(rawFailed.Load()))
	return nil
}

func parallel(c int, fn func()) time.Duration {
	var wg sync.WaitGroup
	t0 := time.Now()
	for range c {
		wg.Add(1)
		go func() { defer wg.Done(); fn() }()
	}
	wg.Wait()
	return time.Since(t0)
}

func enroll(c *http.Client, endpoint, token string, session int) error {
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($s:ID!){enroll(input:{sessionID:$s,pledgeAccepted:true}){id}}`,
		"variables": map[string]any{"s": session},
	})
	req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		return errors.New(out.Errors[0].Message)
	}
	return nil
}

type fixture struct {
	tokens                 []string
	userIDs                []int
	sessionGQL, sessionRaw []int
	siteID, planID         int
	subjectID              int
}

// seed writes the fixture with bulk inserts on a client without the audit
// hook (seeding is not what is measured).
func seed(ctx context.Context, a *app.App, total int) (*fixture, error) {
	sys := viewer.SystemContext(ctx)
	c := a.DB.Client()
	site, err := c.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("压测考点").Save(sys)
	if err != nil {
		return nil, err
	}
	reg, err := c.Region.Create().SetCode("440300").SetName("深圳市").Save(sys)
	if err != nil {
		return nil, err
	}
	sub, err := c.Subject.Create().SetCode("C2").SetName("土建类专职安全生产管理人员").SetCategory(subject.CategoryC2).SetFeeCents(12000).Save(sys)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	plan, err := c.ExamPlan.Create().SetName("压测批次").SetRegionID(reg.ID).SetEnrollStartsAt(now.Add(-time.Hour)).
		SetEnrollEndsAt(now.Add(24 * time.Hour)).SetExamFrom(now.Add(48 * time.Hour)).SetExamTo(now.Add(30 * 24 * time.Hour)).Save(sys)
	if err != nil {
		return nil, err
	}
	f := &fixture{siteID: site.ID, planID: plan.ID, subjectID: sub.ID}
	// Sessions of at most 1000 seats (a room's limit), enough for each phase.
	per := total / 2
	for phase := 0; phase < 2; phase++ {
		for left, k := per, 0; left > 0; k++ {
			seats := min(left, 1000)
			r, err := c.Room.Create().SetSiteID(site.ID).SetName(fmt.Sprintf("考场%d-%d", phase, k)).SetCapacity(seats).Save(sys)
			if err != nil {
				return nil, err
			}
			s, err := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(sub.ID).SetRoomID(r.ID).SetSiteID(site.ID).
				SetStartsAt(now.Add(72 * time.Hour)).SetDurationMinutes(90).SetCapacity(seats).Save(sys)
			if err != nil {
				return nil, err
			}
			if phase == 0 {
				f.sessionGQL = append(f.sessionGQL, s.ID)
			} else {
				f.sessionRaw = append(f.sessionRaw, s.ID)
			}
			left -= seats
		}
	}
	birth := time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC)
	kinds := []attachment.Kind{attachment.KindID_PHOTO, attachment.KindID_CARD_FRONT, attachment.KindID_CARD_BACK,
		attachment.KindEDUCATION_CERT, attachment.KindCOMMITMENT_LETTER, attachment.KindSTUDY_PROOF}
	for lo := 0; lo < total; lo += 500 {
		hi := min(lo+500, total)
		users := make([]*ent.UserCreate, 0, hi-lo)
		for i := lo; i < hi; i++ {
			id := idcard.Generate("440304", birth.AddDate(0, 0, i/1000), i%1000)
			users = append(users, c.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(id).SetIDType(user.IDTypeRESIDENT_ID).
				SetIDNumber(id).SetName(fmt.Sprintf("考生%d", i)).SetPasswordHash("x").SetPhone("13800138000"))
		}
		us, err := c.User.CreateBulk(users...).Save(sys)
		if err != nil {
			return nil, err
		}
		profiles := make([]*ent.ProfileCreate, 0, len(us))
		atts := make([]*ent.AttachmentCreate, 0, len(us)*len(kinds))
		sessions := make([]*ent.SessionCreate, 0, len(us))
		for _, u := range us {
			f.userIDs = append(f.userIDs, u.ID)
			r, _ := idcard.Parse(u.Login)
			sex := entprofile.SexMALE
			if r.Sex == idcard.Female {
				sex = entprofile.SexFEMALE
			}
			profiles = append(profiles, c.Profile.Create().SetUserID(u.ID).SetCandidateType(entprofile.CandidateTypeSOCIAL).
				SetCategory(schematype.CategoryC2).SetSex(sex).SetBirthDate(r.BirthDate).SetCompanyName("压测单位").
				SetYearsInTrade(5).SetEducation(entprofile.EducationBACHELOR).SetEthnicity("汉族").SetAddress("深圳市南山区"))
			for _, k := range kinds {
				atts = append(atts, c.Attachment.Create().SetOwnerID(u.ID).SetKind(k).SetBlobKey(fmt.Sprintf("bench/%d/%s", u.ID, k)).
					SetContentType("image/jpeg").SetSize(1000).SetSha256("0"))
			}
			tok, hash := auth.NewToken()
			f.tokens = append(f.tokens, tok)
			sessions = append(sessions, c.Session.Create().SetTokenHash(hash).SetUserID(u.ID).SetExpiresAt(now.Add(12*time.Hour)))
		}
		if err := c.Profile.CreateBulk(profiles...).Exec(sys); err != nil {
			return nil, err
		}
		if err := c.Attachment.CreateBulk(atts...).Exec(sys); err != nil {
			return nil, err
		}
		if err := c.Session.CreateBulk(sessions...).Exec(sys); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func freshDatabase(adminDSN string) (string, func(), error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "kaowu_bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database (is PostgreSQL at %s?): %w", adminDSN, err)
	}
	u, err := url.Parse(adminDSN)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	}, nil
}
