package main

// The online-exam benchmarks of issue #4, each beside the raw engine figure
// of the same work from the same run:
//
//	kaowu-bench saves      answer saves through GraphQL vs raw single-row upserts
//	kaowu-bench snapshots  snapshot uploads through the API vs raw minio-go PUTs
//	kaowu-bench deliveries session-event deliveries through GraphQL subscriptions
//	                       vs a raw coder/websocket broadcast; upload→receipt p99
//	kaowu-bench exam       all three on one fixture
//
// Each creates a fresh PostgreSQL database and a fresh MinIO bucket, serves
// kaowu on a loopback port, seeds an OPEN online session with candidates in
// IN_PROGRESS mock attempts and staff watching it, and removes both at the end.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/papertemplate"
	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/graph"
	"github.com/kaowu/kaowu/internal/app"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/config"
	"github.com/kaowu/kaowu/internal/exam"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

type examOpts struct {
	dsn, s3Endpoint, s3Key, s3Secret string
	conns                            int
	saves, saveC                     int
	snaps, snapC                     int
	subs, events, window             int
	uploads, uploadC                 int
	rounds                           int
	jpegW, jpegH                     int
}

func examMain(cmd string, args []string) {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var o examOpts
	fs.StringVar(&o.dsn, "db", env("KAOWU_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "admin DSN of a PostgreSQL server")
	fs.StringVar(&o.s3Endpoint, "s3", env("KAOWU_TEST_S3_ENDPOINT", "127.0.0.1:9100"), "MinIO endpoint (host:port)")
	fs.StringVar(&o.s3Key, "s3-key", env("KAOWU_TEST_S3_ACCESS_KEY", "kaowutest"), "MinIO access key")
	fs.StringVar(&o.s3Secret, "s3-secret", env("KAOWU_TEST_S3_SECRET_KEY", "kaowutestsecret"), "MinIO secret key")
	fs.IntVar(&o.conns, "conns", 20, "database pool size")
	fs.IntVar(&o.saves, "saves", 12000, "answer saves per side (API, raw)")
	fs.IntVar(&o.rounds, "rounds", 4, "alternating API/raw rounds the saves and snapshot phases are split into")
	fs.IntVar(&o.saveC, "save-c", 64, "concurrent answering candidates (one attempt each)")
	fs.IntVar(&o.snaps, "snapshots", 1200, "snapshot uploads per side (API, raw)")
	fs.IntVar(&o.snapC, "snap-c", 16, "concurrent uploaders")
	fs.IntVar(&o.jpegW, "jpeg-w", 640, "snapshot width")
	fs.IntVar(&o.jpegH, "jpeg-h", 480, "snapshot height")
	fs.IntVar(&o.subs, "subs", 50, "subscribers watching the session (proctors, site, admins)")
	fs.IntVar(&o.events, "events", 1000, "events broadcast per fan-out phase")
	fs.IntVar(&o.window, "window", 32, "events in flight (published, not yet received by every subscriber)")
	fs.IntVar(&o.uploads, "uploads", 300, "uploads watched for upload→receipt latency")
	fs.IntVar(&o.uploadC, "upload-c", 8, "concurrent uploaders while watched")
	fs.StringVar(&profilePath, "cpuprofile", "", "write a CPU profile of one API phase (-profile-phase) to this file")
	fs.StringVar(&profilePhase, "profile-phase", "saves", "the phase -cpuprofile covers: saves, snapshots or deliveries")
	_ = fs.Parse(args)
	if err := runExam(cmd, o); err != nil {
		fmt.Fprintln(os.Stderr, "kaowu-bench:", err)
		os.Exit(1)
	}
}

// xenv is the running server and its fixture.
type xenv struct {
	a         *app.App
	endpoint  string // http://…/graphql
	wsURL     string
	http      *http.Client
	sessionID int
	cands     []xcand
	watchers  []string // staff tokens
	minio     *minio.Client
	bucket    string
	jpeg      []byte
}

type xcand struct {
	token     string
	attemptID int
	items     []bank.Item
}

func runExam(cmd string, o examOpts) error {
	ctx := context.Background()
	dbURL, drop, err := freshDatabase(o.dsn)
	if err != nil {
		return err
	}
	defer drop()
	dir, _ := os.MkdirTemp("", "kaowu-bench-")
	defer os.RemoveAll(dir)
	bucket := "kaowu-bench-" + randHex(4)
	cfg := &config.Config{Env: "development", Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL,
		Secret: []byte("bench-secret-0123456789abcdef0123456789"), Argon2: "fast", SessionIdle: time.Hour,
		SessionMax: 12 * time.Hour, DBMaxConns: o.conns, PublicURL: "http://127.0.0.1", PaymentGateway: "none",
		MaxUploadBytes: 4 << 20, MaxImageBytes: 2 << 20, MaxPDFBytes: 1 << 20,
		S3: config.S3{Endpoint: o.s3Endpoint, AccessKey: o.s3Key, SecretKey: o.s3Secret, Bucket: bucket}}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Schema: graph.Schema})
	if err != nil {
		return fmt.Errorf("start kaowu (MinIO at %s? run scripts/dev-services.sh): %w", o.s3Endpoint, err)
	}
	defer a.Close()
	mc, err := minio.New(o.s3Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.s3Key, o.s3Secret, "")})
	if err != nil {
		return err
	}
	defer emptyBucket(mc, bucket)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = a.Serve(sctx, ln) }()

	nc := max(o.saveC, o.snapC, o.uploadC)
	fmt.Printf("seeding an open online session: %d candidates in mock attempts, %d watchers…\n", nc, o.subs)
	x := &xenv{a: a, endpoint: "http://" + ln.Addr().String() + "/graphql", wsURL: "ws://" + ln.Addr().String() + "/graphql",
		http:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}},
		minio: mc, bucket: bucket, jpeg: snapshotJPEG(o.jpegW, o.jpegH)}
	if err := seedExam(ctx, x, nc, o.subs); err != nil {
		return fmt.Errorf("seed: %w", err)
	}

	var rows []row
	if cmd == "saves" || cmd == "exam" {
		r, err := benchSaves(ctx, x, o.saves, o.saveC, o.conns, o.rounds)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if cmd == "snapshots" || cmd == "exam" {
		r, err := benchSnapshots(ctx, x, o.snaps, o.snapC, o.rounds)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if cmd == "deliveries" || cmd == "exam" {
		rs, err := benchDeliveries(ctx, x, o)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	fmt.Println()
	printRows(rows)
	return nil
}

// row is one line of the summary table.
type row struct {
	what, api, raw string
	ratio, target  float64
	note           string
}

func printRows(rows []row) {
	fmt.Printf("%-28s %-40s %-34s %-7s %s\n", "benchmark", "through the API", "raw engine", "ratio", "target")
	for _, r := range rows {
		t := "-"
		if r.target > 0 {
			t = fmt.Sprintf("≥ %.1f", r.target)
		}
		ratio := "-"
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		fmt.Printf("%-28s %-40s %-34s %-7s %s\n", r.what, r.api, r.raw, ratio, t)
		for _, l := range strings.Split(r.note, "\n") {
			if l != "" {
				fmt.Printf("%-28s %s\n", "", l)
			}
		}
	}
}

// seedExam writes the fixture on a client without the audit hook, then
// starts every candidate's mock attempt through the exam service.
func seedExam(ctx context.Context, x *xenv, nCands, nWatchers int) error {
	sys := viewer.SystemContext(ctx)
	c := x.a.DB.Client()
	u := randHex(3)
	site, err := c.Organization.Create().SetKind(organization.KindEXAM_SITE).SetName("压测考点").Save(sys)
	if err != nil {
		return err
	}
	reg, err := c.Region.Create().SetCode("440300").SetName("深圳市").Save(sys)
	if err != nil {
		return err
	}
	sub, err := c.Subject.Create().SetCode("X" + u).SetName("安全生产知识").SetFeeCents(5000).Save(sys)
	if err != nil {
		return err
	}
	// A paper of 10 true/false and 10 single-choice questions.
	for i := range 10 {
		tr := i%2 == 0
		if _, err := c.Question.Create().SetSubjectID(sub.ID).SetType(question.TypeTRUE_FALSE).SetStem(fmt.Sprintf("判断题%d", i)).
			SetAnswer(schema.QuestionAnswer{True: &tr}).Save(sys); err != nil {
			return err
		}
		if _, err := c.Question.Create().SetSubjectID(sub.ID).SetType(question.TypeSINGLE).SetStem(fmt.Sprintf("单选题%d", i)).
			SetOptions([]string{"甲", "乙", "丙", "丁"}).SetAnswer(schema.QuestionAnswer{Options: []int{i % 4}}).Save(sys); err != nil {
			return err
		}
	}
	rules := []schema.PaperRule{{Type: "TRUE_FALSE", Count: 10, Points: 5}, {Type: "SINGLE", Count: 10, Points: 5}}
	if _, err := c.PaperTemplate.Create().SetSubjectID(sub.ID).SetKind(papertemplate.KindMOCK).SetName("测试试卷").
		SetDurationMinutes(120).SetRules(rules).Save(sys); err != nil {
		return err
	}
	now := time.Now()
	plan, err := c.ExamPlan.Create().SetName("压测批次").SetRegionID(reg.ID).SetEnrollStartsAt(now.AddDate(0, -1, 0)).
		SetEnrollEndsAt(now.AddDate(0, 0, -10)).SetExamFrom(now.AddDate(0, 0, -1)).SetExamTo(now.AddDate(0, 0, 1)).Save(sys)
	if err != nil {
		return err
	}
	room, err := c.Room.Create().SetSiteID(site.ID).SetName("在线考场").SetCapacity(1000).Save(sys)
	if err != nil {
		return err
	}
	sess, err := c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(sub.ID).SetRoomID(room.ID).SetSiteID(site.ID).
		SetStartsAt(now.Add(-10 * time.Minute)).SetDurationMinutes(240).SetCapacity(1000).SetOnsite(false).
		SetStatus(examsession.StatusOPEN).Save(sys)
	if err != nil {
		return err
	}
	x.sessionID = sess.ID
	token := func(uid int) (string, error) {
		tok, hash := auth.NewToken()
		_, err := c.Session.Create().SetTokenHash(hash).SetUserID(uid).SetExpiresAt(now.Add(12 * time.Hour)).Save(sys)
		return tok, err
	}
	birth := time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range nCands {
		id := idcard.Generate("440304", birth.AddDate(0, 0, i/1000), i%1000)
		cu, err := c.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(id).SetIDType(user.IDTypeRESIDENT_ID).
			SetIDNumber(id).SetName(fmt.Sprintf("考生%d", i)).SetPasswordHash("x").SetPhone("13800138000").Save(sys)
		if err != nil {
			return err
		}
		en, err := c.Enrollment.Create().SetCandidateID(cu.ID).SetPlanID(plan.ID).SetSubjectID(sub.ID).
			SetSessionID(sess.ID).SetSiteID(site.ID).SetStatus(enrollment.StatusAPPROVED).
			SetPledgeAcceptedAt(now.AddDate(0, 0, -20)).SetSubmittedAt(now.AddDate(0, 0, -20)).
			SetFeeCents(5000).SetPaymentStatus(enrollment.PaymentStatusPAID).Save(sys)
		if err != nil {
			return err
		}
		tok, err := token(cu.ID)
		if err != nil {
			return err
		}
		cctx := viewer.NewContext(ctx, &viewer.Viewer{UserID: cu.ID, Role: viewer.Candidate})
		at, err := x.a.Exam.Start(cctx, exam.StartInput{EnrollmentID: en.ID, Kind: "MOCK",
			ConsentText: "本人同意考试期间由电脑及手机摄像头采集本人面部图像，用于考试监督。", ConsentAccepted: true})
		if err != nil {
			return fmt.Errorf("start attempt: %w", err)
		}
		p, err := x.a.Bank.DrawFor(sys, at.TemplateID, at.Seed)
		if err != nil {
			return err
		}
		x.cands = append(x.cands, xcand{token: tok, attemptID: at.ID, items: p.Items})
	}
	// Watchers: proctors assigned to the session, the site, admins.
	roles := []user.Role{user.RolePROCTOR, user.RoleEXAM_SITE, user.RoleADMIN}
	for i := range nWatchers {
		r := roles[i%len(roles)]
		b := c.User.Create().SetRole(r).SetLogin(fmt.Sprintf("%s-%s-%d", r, u, i)).SetName("监考" + fmt.Sprint(i)).SetPasswordHash("x")
		if r != user.RoleADMIN {
			b.SetOrganizationID(site.ID)
		}
		wu, err := b.Save(sys)
		if err != nil {
			return err
		}
		if r == user.RolePROCTOR {
			if _, err := c.ProctorAssignment.Create().SetProctorID(wu.ID).SetSessionID(sess.ID).SetSiteID(site.ID).
				SetCreatedAt(now).Save(sys); err != nil {
				return err
			}
		}
		tok, err := token(wu.ID)
		if err != nil {
			return err
		}
		x.watchers = append(x.watchers, tok)
	}
	return nil
}

// ---------------------------------------------------------------- saves

func benchSaves(ctx context.Context, x *xenv, n, c, conns, rounds int) (row, error) {
	c = min(c, len(x.cands))
	var seq atomic.Int64
	const q = `mutation($a:ID!,$q:ID!,$r:AnswerInput!,$s:Int!){saveAnswer(input:{attemptID:$a,questionID:$q,response:$r,seq:$s}){seq}}`
	// target spreads saves over the attempts and their questions.
	target := func(i int) (xcand, bank.Item) {
		k := x.cands[i%c]
		return k, k.items[(i/c)%len(k.items)]
	}
	response := func(it bank.Item, s int64) map[string]any {
		if it.Type == question.TypeTRUE_FALSE {
			return map[string]any{"isTrue": s%2 == 0}
		}
		return map[string]any{"options": []int{int(s % 4)}}
	}
	fmt.Printf("saves: %d answer saves through GraphQL and %d raw single-row upserts (one transaction each), %d at once, in %d alternating rounds…\n", n, n, c, rounds)
	stop := startProfile("saves")
	saver := func(f func() (int64, int64), tx bool) func() int64 {
		return func() int64 {
			s, t := f()
			if tx {
				return t
			}
			return s
		}
	}
	gql, raw, d, err := alternate(rounds, n, c, func(i int) error {
		k, it := target(i)
		s := seq.Add(1)
		return x.gql(k.token, q, map[string]any{"a": k.attemptID, "q": it.QuestionID, "r": response(it, s), "s": s}, nil)
	}, func(i int) error {
		k, it := target(i)
		s := seq.Add(1)
		body, _ := json.Marshal(response(it, s))
		return exam.RawUpsert(ctx, x.a.DB.SQL, x.a.DB.Dialect, k.attemptID, it.QuestionID, body, s, time.Now())
	}, saver(x.a.Exam.Saver().Stats, false), saver(x.a.Exam.Saver().Stats, true), x.a.DB.Queries)
	stop()
	if err != nil {
		return row{}, err
	}
	stmts := float64(d[2]) / float64(max(d[0], 1))
	perTx := float64(d[0]) / float64(max(d[1], 1))
	return row{what: fmt.Sprintf("answer saves (c=%d)", c), api: gql.String("saves"), raw: raw.String("saves"),
		ratio: gql.rate / raw.rate, target: 1.0,
		note: fmt.Sprintf("GraphQL p99 %v (target ≤ 50 ms); %.1f saves per group-commit transaction; %.2f SQL statements per save; pool %d",
			gql.pct(99), perTx, stmts, conns) + cpuNote(gql, raw)}, nil
}

// ---------------------------------------------------------------- snapshots

func benchSnapshots(ctx context.Context, x *xenv, n, c, rounds int) (row, error) {
	c = min(c, len(x.cands))
	// The bare hop: a plain HTTP handler in this process that reads the
	// bytes and PUTs them to MinIO as the raw side does, with nothing else
	// (no login, GraphQL, checks or database). No API in front of MinIO can
	// cost less, so its ratio is the ceiling for any design on this machine.
	hop, err := startBareHop(x.minio, x.bucket)
	if err != nil {
		return row{}, err
	}
	defer hop.Close()
	fmt.Printf("snapshots: %d uploads of a %d-byte JPEG through uploadSnapshot, %d raw minio-go PutObject of the same bytes and %d through a bare HTTP hop, %d at once, in %d alternating rounds…\n", n, len(x.jpeg), n, n, c, rounds)
	stop := startProfile("snapshots")
	rs, d, err := alternateSides(rounds, n, c, []func(int) error{func(i int) error {
		_, err := x.upload(x.cands[i%c])
		return err
	}, func(i int) error {
		_, err := x.minio.PutObject(ctx, x.bucket, fmt.Sprintf("bench-raw/%d.jpg", i), bytes.NewReader(x.jpeg),
			int64(len(x.jpeg)), minio.PutObjectOptions{ContentType: "image/jpeg"})
		return err
	}, func(i int) error {
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/bench-hop/%d.jpg", hop.Addr, i), bytes.NewReader(x.jpeg))
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := x.http.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("bare hop: HTTP %d", resp.StatusCode)
		}
		return nil
	}}, x.a.Proctor.SnapshotBatches, x.a.DB.Queries)
	stop()
	if err != nil {
		return row{}, err
	}
	gql, raw, bare := rs[0], rs[1], rs[2]
	perTx := float64(gql.n) / float64(max(d[0], 1))
	stmts := float64(d[1]) / float64(max(gql.n, 1))
	return row{what: fmt.Sprintf("snapshot uploads (c=%d)", c), api: gql.String("uploads"), raw: raw.String("PUTs"),
		ratio: gql.rate / raw.rate, target: 0.8,
		note: fmt.Sprintf("%d-byte JPEG; API p99 %v, raw p99 %v; %.1f uploads per evidence transaction; %.2f SQL statements per upload",
			len(x.jpeg), gql.pct(99), raw.pct(99), perTx, stmts) +
			fmt.Sprintf("\nbare HTTP hop in front of MinIO (the ceiling of any API here): %s, ratio %.2f", bare.String("uploads"), bare.rate/raw.rate) +
			cpuNote(gql, raw) + cpuNoteSide("bare hop", bare)}, nil
}

// startBareHop serves PUT /bench-hop/{name}: read the body, PutObject it.
func startBareHop(mc *minio.Client, bucket string) (*http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Addr: ln.Addr().String(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.ContentLength <= 0 || r.ContentLength > 8<<20 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, err := mc.PutObject(r.Context(), bucket, r.URL.Path[1:], bytes.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ContentType: r.Header.Get("Content-Type")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// ---------------------------------------------------------------- helpers

// result is one phase's throughput and latencies.
type result struct {
	n    int
	rate float64
	lat  []time.Duration // sorted
	errs int
	d    time.Duration
	cpu  cpuUse // CPU spent by each process group during the phase
}

// alternate runs the API phase and the raw phase in turns, rounds times,
// n/rounds operations each, and merges each side's rounds. On a shared
// machine the database and the blob store drift (checkpoints, vacuum,
// other work); alternating gives both sides the same conditions.
// counters (statements, transactions…) are summed over the API phases only.
func alternate(rounds, n, c int, api, raw func(i int) error, counters ...func() int64) (result, result, []int64, error) {
	rs, deltas, err := alternateSides(rounds, n, c, []func(int) error{api, raw}, counters...)
	if err != nil {
		return result{}, result{}, nil, err
	}
	return rs[0], rs[1], deltas, nil
}

// alternateSides is alternate for any number of sides, run in turn each
// round; counters cover the first side.
//
// Each side first runs warmup(c) operations that are not measured: a
// server that has been up for a while has its connections open, its
// caches filled and its database backends' catalogs loaded, and a fresh
// bench database has none of these (the first statement on each new
// PostgreSQL connection plans against a cold catalog, a few ms each).
func alternateSides(rounds, n, c int, sides []func(int) error, counters ...func() int64) ([]result, []int64, error) {
	rounds = max(1, rounds)
	runs := make([][]result, len(sides))
	deltas := make([]int64, len(counters))
	per := max(1, n/rounds)
	for _, side := range sides {
		if _, err := timed(warmup(c), c, func(i int) error { return side(n + i) }); err != nil {
			return nil, nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	for r := range rounds {
		off := r * per
		for s, side := range sides {
			before := make([]int64, len(counters))
			for i, f := range counters {
				before[i] = f()
			}
			res, err := timed(per, c, func(i int) error { return side(off + i) })
			if err != nil {
				return nil, nil, err
			}
			if s == 0 {
				for i, f := range counters {
					deltas[i] += f() - before[i]
				}
			}
			runs[s] = append(runs[s], res)
		}
	}
	out := make([]result, len(sides))
	for s := range runs {
		out[s] = merge(runs[s])
	}
	return out, deltas, nil
}

// warmup is how many unmeasured operations each side runs first: four per
// client, so every client's connection and every pooled database
// connection has been used.
func warmup(c int) int { return 4 * c }

func merge(rs []result) result {
	var m result
	for _, r := range rs {
		m.cpu = m.cpu.add(r.cpu)
		m.n += r.n
		m.d += r.d
		m.errs += r.errs
		m.lat = append(m.lat, r.lat...)
	}
	slices.Sort(m.lat)
	m.rate = float64(m.n) / m.d.Seconds()
	return m
}

// cpuNote is the CPU per operation of both sides, where /proc tells it.
func cpuNote(api, raw result) string {
	a, r := api.cpu.perOp(api.n), raw.cpu.perOp(raw.n)
	if a == "" || r == "" {
		return ""
	}
	return "\nper operation, API: " + a + "\nper operation, raw: " + r
}

func cpuNoteSide(name string, r result) string {
	if c := r.cpu.perOp(r.n); c != "" {
		return "\nper operation, " + name + ": " + c
	}
	return ""
}

func (r result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := min(len(r.lat)*p/100, len(r.lat)-1)
	return r.lat[i].Round(100 * time.Microsecond)
}

func (r result) String(unit string) string {
	s := fmt.Sprintf("%.0f %s/s (p50 %v, p99 %v)", r.rate, unit, r.pct(50), r.pct(99))
	if r.errs > 0 {
		s += fmt.Sprintf(" %d errors", r.errs)
	}
	return s
}

// timed runs op(0..n-1) on c goroutines and measures it. More than 1% of
// failures fails the phase (the figure would be meaningless).
func timed(n, c int, op func(i int) error) (result, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	var first error
	var once sync.Once
	cpu0 := sampleCPU()
	d := parallel(c, func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			t0 := time.Now()
			err := op(i)
			lat[i] = time.Since(t0)
			if err != nil {
				failed.Add(1)
				once.Do(func() { first = err })
			}
		}
	})
	slices.Sort(lat)
	r := result{n: n, rate: float64(n) / d.Seconds(), lat: lat, errs: int(failed.Load()), d: d, cpu: cpu0.since()}
	if r.errs*100 > n {
		return r, fmt.Errorf("%d of %d operations failed, first: %w", r.errs, n, first)
	}
	if first != nil {
		fmt.Fprintln(os.Stderr, "  first error:", first)
	}
	return r, nil
}

// gql posts a JSON GraphQL operation; out (if not nil) receives data.
func (x *xenv) gql(token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, x.endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return x.do(req, out)
}

func (x *xenv) do(req *http.Request, out any) error {
	resp, err := x.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var res struct {
		Data   json.RawMessage            `json:"data"`
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if len(res.Errors) > 0 {
		return errors.New(res.Errors[0].Message)
	}
	if out != nil {
		return json.Unmarshal(res.Data, out)
	}
	return nil
}

// upload sends the candidate's PC snapshot as a GraphQL multipart request
// and returns the stored key.
func (x *xenv) upload(k xcand) (string, error) {
	var body bytes.Buffer
	body.Grow(len(x.jpeg) + 1024) // a browser's FormData has no Go slice to grow
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($a:ID!,$f:Upload!){uploadSnapshot(attemptID:$a,file:$f){key nextInSeconds}}`,
		"variables": map[string]any{"a": k.attemptID, "f": nil}})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0":["variables.f"]}`)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="0"; filename="camera.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	fw, _ := w.CreatePart(h)
	_, _ = fw.Write(x.jpeg)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, x.endpoint, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+k.token)
	var out struct{ UploadSnapshot struct{ Key string } }
	if err := x.do(req, &out); err != nil {
		return "", err
	}
	return out.UploadSnapshot.Key, nil
}

// snapshotJPEG is a webcam-sized picture with some sensor-like noise, so it
// compresses about as a real snapshot does.
func snapshotJPEG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rnd := mrand.New(mrand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := uint8(rnd.IntN(24))
			img.Set(x, y, color.RGBA{uint8(x*200/w) + n, uint8(y*200/h) + n, 120 + n, 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// emptyBucket removes the run's objects and bucket (best effort).
func emptyBucket(mc *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs := mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for e := range mc.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
		_ = e
	}
	_ = mc.RemoveBucket(ctx, bucket)
}

var profilePhase string

// startProfile starts the CPU profile if -cpuprofile asks for this phase;
// the returned func stops it.
func startProfile(phase string) func() {
	if profilePath == "" || profilePhase != phase {
		return func() {}
	}
	f, err := os.Create(profilePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kaowu-bench: cpuprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
