// Package orgs administers organisations: company review, the exam sites,
// training institutions and departments, their rooms, and announcements.
package orgs

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Service implements organisation administration.
type Service struct {
	Client   *ent.Client
	Bus      events.Bus
	Notifier *notify.Notifier
}

// TopicAnnouncements carries newly published announcements.
const TopicAnnouncements = "announcements"

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// ReviewCompany approves or rejects a company registration. Privacy lets
// REVIEWER and ADMIN change company status only.
func (s *Service) ReviewCompany(ctx context.Context, id int, approve bool, reason string) (*ent.Organization, error) {
	v, err := authz.Require(ctx, "只有管理部门可以审核单位注册", viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !approve && reason == "" {
		return nil, apperr.Input("reason", "驳回时必须填写原因")
	}
	if utf8.RuneCountInString(reason) > 500 {
		return nil, apperr.Input("reason", "原因不能超过500个字")
	}
	db := s.db(ctx)
	org, err := db.Organization.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if org.Kind != organization.KindCOMPANY {
		return nil, apperr.Input("id", "只能审核单位注册")
	}
	if org.Status != organization.StatusPENDING {
		return nil, apperr.New(apperr.Conflict, "该单位注册已审核，无需重复审核")
	}
	status := organization.StatusAPPROVED
	if !approve {
		status = organization.StatusREJECTED
	}
	// Conditional on PENDING: two reviewers racing cannot both decide.
	n, err := db.Organization.Update().Where(organization.ID(id), organization.StatusEQ(organization.StatusPENDING)).
		SetStatus(status).SetReviewReason(reason).SetReviewedAt(time.Now()).SetReviewedByID(v.UserID).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "该单位注册已审核，无需重复审核")
	}
	members, err := db.User.Query().Where(user.OrganizationID(id)).IDs(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	title, body := "单位注册审核通过", "您的单位注册已审核通过，现在可以为员工报名。"
	if !approve {
		title, body = "单位注册未通过审核", "驳回原因："+reason
	}
	for _, m := range members {
		if err := s.Notifier.Notify(ctx, m, "COMPANY_REVIEWED", title, body); err != nil {
			return nil, err
		}
	}
	return db.Organization.Get(ctx, id)
}

// CreateOrganization creates a site, training institution or department.
func (s *Service) CreateOrganization(ctx context.Context, in ent.CreateOrganizationInput) (*ent.Organization, error) {
	if in.Kind == organization.KindCOMPANY {
		return nil, apperr.Input("kind", "单位账号需自行注册")
	}
	in.Name = strings.TrimSpace(in.Name)
	db := s.db(ctx)
	if ok, err := db.Organization.Query().Where(organization.KindEQ(in.Kind), organization.Name(in.Name)).
		Exist(viewer.SystemContext(ctx)); err != nil {
		return nil, err
	} else if ok {
		return nil, apperr.New(apperr.Conflict, "同类机构中已有同名机构").With("field", "name")
	}
	return db.Organization.Create().SetInput(in).Save(ctx)
}

// CreateRoom adds a room to an exam site.
func (s *Service) CreateRoom(ctx context.Context, in ent.CreateRoomInput) (*ent.Room, error) {
	db := s.db(ctx)
	site, err := db.Organization.Get(ctx, in.SiteID)
	if ent.IsNotFound(err) {
		return nil, apperr.Input("siteID", "考点不存在")
	} else if err != nil {
		return nil, err
	}
	if site.Kind != organization.KindEXAM_SITE {
		return nil, apperr.Input("siteID", "考场只能属于考点")
	}
	return db.Room.Create().SetInput(in).Save(ctx)
}

// CreateAnnouncement publishes an announcement; subscribers hear of it after commit.
func (s *Service) CreateAnnouncement(ctx context.Context, in ent.CreateAnnouncementInput) (*ent.Announcement, error) {
	v := viewer.FromContext(ctx)
	c := s.db(ctx).Announcement.Create().SetInput(in)
	if v != nil {
		c.SetAuthorID(v.UserID)
	}
	a, err := c.Save(ctx)
	if err != nil {
		return nil, err
	}
	payload, _ := json.Marshal(map[string]int{"id": a.ID})
	txn.AfterCommit(ctx, func() {
		_ = s.Bus.Publish(context.Background(), events.Event{Topic: TopicAnnouncements, Type: "ANNOUNCEMENT", Payload: payload, At: time.Now()})
	})
	return a, nil
}
