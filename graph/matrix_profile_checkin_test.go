package graph_test

// Rows of the authorization matrix for profiles, attachments, training
// hours and check-in. Uploads go as GraphQL multipart requests (pcDo, in
// profile_checkin_api_test.go). Fixtures are made as system work, fresh
// where a run consumes them (a training record reviewed, a pcSeat checked in).

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/demo"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

// pcFixtures are the shared fixtures of these rows, made once per matrix run.
type pcFixtures struct {
	candID    int              // the demo candidate
	attID     int              // an ID photo of the demo candidate
	linkedID  int              // a candidate whose profile names the demo company
	sess      *ent.ExamSession // at the demo site, check-in open
	trainerID int              // the demo training institution
	photo     []byte           // a JPEG for uploads
}

var (
	pcMu  sync.Mutex
	pcFix = map[*matrixEnv]*pcFixtures{}
)

func (m *matrixEnv) pc(t *testing.T) *pcFixtures {
	t.Helper()
	pcMu.Lock()
	defer pcMu.Unlock()
	if f := pcFix[m]; f != nil {
		return f
	}
	ctx := viewer.SystemContext(context.Background())
	c := m.App.Client
	f := &pcFixtures{photo: pcJPEG(t, 200, 260)}
	f.candID = c.User.Query().Where(user.Login(demo.CandidateID)).OnlyIDX(ctx)
	a, err := m.App.Profiles.Attach(ctx, f.candID, attachment.KindID_PHOTO, "photo.jpg", bytes.NewReader(f.photo), int64(len(f.photo)))
	if err != nil {
		t.Fatal(err)
	}
	f.attID = a.ID
	company := c.Organization.Query().Where(organization.KindEQ(organization.KindCOMPANY), organization.Name("深圳市安建工程有限公司")).OnlyX(ctx)
	linked := m.personID(t)
	c.Profile.Create().SetUserID(linked).SetCompanyName(company.Name).SetCompanyID(company.ID).
		SetCandidateType(profile.CandidateTypeSOCIAL).SaveX(ctx)
	f.linkedID = linked
	f.sess = pcSession(m.Env, time.Now().Add(15*time.Minute))
	f.trainerID = c.Organization.Query().Where(organization.KindEQ(organization.KindTRAINING_ORG)).Order(organization.ByID()).FirstIDX(ctx)
	pcFix[m] = f
	return f
}

// pendingRecord is a fresh PENDING training record of the demo institution.
func (m *matrixEnv) pendingRecord(t *testing.T) int {
	f := m.pc(t)
	ctx := viewer.SystemContext(context.Background())
	return m.App.Client.TrainingRecord.Create().SetCandidateID(m.personID(t)).SetTrainingOrgID(f.trainerID).
		SetCategory(schematype.ExamCategory("C1")).SetHours(8).SetStartedOn(time.Now().AddDate(0, 0, -20).Truncate(24 * time.Hour)).
		SaveX(ctx).ID
}

// seatedCandidate is a fresh candidate, APPROVED and PAID in the open
// session; it returns their ID number and name.
func (m *matrixEnv) seatedCandidate(t *testing.T) (string, string) {
	f := m.pc(t)
	id := idcard.Generate("110105", bday, int(m.next()))
	u, err := m.App.Auth.RegisterPerson(context.Background(), auth.PersonInput{IDNumber: id, Name: "签到考生", Phone: "13912340003", Password: "Matrix#2026ok"})
	if err != nil {
		t.Fatal(err)
	}
	pcSeat(m.Env, f.sess, u.ID, true)
	return id, u.Name
}

func init() {
	candidate, company, site, proctor, trainer, reviewer, admin := viewer.Candidate, viewer.Company, viewer.ExamSite, viewer.Proctor, viewer.TrainingOrg, viewer.Reviewer, viewer.Admin
	register(map[string]op{
		// ---- profile and attachments
		"myProfile":                 {doc: `{myProfile{id}}`, allowed: loggedIn},
		"myAttachments":             {doc: `{myAttachments{id}}`, allowed: loggedIn},
		"uploadableAttachmentKinds": {doc: `{uploadableAttachmentKinds}`, allowed: loggedIn},
		"ethnicities":               {doc: `{ethnicities}`, allowed: all},
		"attachmentsOf": {doc: `query($u:ID!){attachmentsOf(userID:$u){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"u": m.pc(t).candID}
			},
			// privacy narrows the list: others pcGet an empty one
			allowed: loggedIn},
		"attachmentURL": {doc: `query($id:ID!){attachmentURL(id:$id){url expiresAt}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": m.pc(t).attID}
			},
			// the owner (the demo candidate), reviewers and admins; others NOT_FOUND
			allowed: only(candidate, reviewer, admin)},
		"profileCompleteness": {doc: `query($u:ID){profileCompleteness(userID:$u){complete}}`,
			vars: func(t *testing.T, m *matrixEnv, role, _ string) map[string]any {
				if role == string(candidate) {
					return map[string]any{"u": nil} // their own
				}
				return map[string]any{"u": m.pc(t).linkedID}
			}, allowed: only(candidate, company, reviewer, admin)},
		"uploadAttachment": {doc: `mutation($f:Upload!){uploadAttachment(kind:OTHER,file:$f){id url}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"f": pcFile{"scan.jpg", m.pc(t).photo}}
			}, allowed: only(candidate, company)},
		"updateMyProfile": {doc: `mutation{updateMyProfile(input:{address:"深圳市南山区科技园1号",postCode:"518057"}){id}}`,
			allowed: only(candidate)},

		// ---- training
		"trainingHours": {doc: `query($c:ID!){trainingHours(candidateID:$c){hours required}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"c": m.pc(t).candID}
			},
			allowed: only(candidate, trainer, reviewer, admin)},
		"recordTraining": {doc: `mutation($n:String!,$d:Time!){recordTraining(input:{candidateIdNumber:$n,details:{category:C1,hours:8,startedOn:$d}}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"n": m.person(t), "d": time.Now().AddDate(0, 0, -3).Format(time.RFC3339)}
			}, allowed: only(trainer)},
		"updateTrainingRecord": {doc: `mutation($id:ID!,$d:Time!){updateTrainingRecord(id:$id,input:{category:C1,hours:10,startedOn:$d}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": m.pendingRecord(t), "d": time.Now().AddDate(0, 0, -20).Format(time.RFC3339)}
			}, allowed: only(trainer)},
		"reviewTraining": {doc: `mutation($id:ID!){reviewTraining(id:$id,approve:true){id status}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"id": m.pendingRecord(t)}
			}, allowed: only(trainer)},

		// ---- check-in
		"sessionRoster": {doc: `query($s:ID!){sessionRoster(sessionID:$s){total entries{candidateName}}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				return map[string]any{"s": m.pc(t).sess.ID}
			},
			// the demo site's operator and proctor (the session is theirs)
			allowed: only(site, proctor, reviewer, admin)},
		"checkIn": {doc: `mutation($s:ID!,$n:String!,$name:String!,$live:Upload!){checkIn(input:{sessionID:$s,readerIDNumber:$n,readerName:$name,livePhoto:$live}){id}}`,
			vars: func(t *testing.T, m *matrixEnv, _, _ string) map[string]any {
				n, name := m.seatedCandidate(t)
				return map[string]any{"s": m.pc(t).sess.ID, "n": n, "name": name, "live": pcFile{"live.jpg", m.pc(t).photo}}
			}, allowed: only(site)},
	})
}
