package graph

// Helpers of profile.resolvers.go and checkin.resolvers.go. Note: query
// resolvers reach the profile service as r.App.Profiles, because the
// generated `profiles` connection (queryResolver.Profiles) shadows it.

import (
	"io"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kaowu/kaowu/graph/model"
	"github.com/kaowu/kaowu/internal/checkin"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/training"
)

// trainingDetails converts the GraphQL input of a training record.
func trainingDetails(in *model.TrainingDetailsInput) training.Details {
	if in == nil {
		return training.Details{}
	}
	return training.Details{
		Category: in.Category, Hours: in.Hours, StartedOn: in.StartedOn, FinishedOn: in.FinishedOn,
		Result: in.Result, Score: in.Score,
	}
}

// completeness converts the service's report.
func completeness(c *profile.Completeness, err error) (*model.ProfileCompleteness, error) {
	if err != nil {
		return nil, err
	}
	out := &model.ProfileCompleteness{
		Complete: c.Complete, Missing: make([]*model.MissingItem, len(c.Missing)),
		CandidateType: c.CandidateType, Category: c.Category,
		ApprovedHours: c.ApprovedHours, RequiredHours: c.RequiredHours,
	}
	for i, m := range c.Missing {
		out.Missing[i] = &model.MissingItem{Field: m.Field, Label: m.Label}
	}
	return out, nil
}

// roster converts the service's roster; empty strings and times are null.
func roster(r *checkin.Roster, err error) (*model.SessionRoster, error) {
	if err != nil {
		return nil, err
	}
	out := &model.SessionRoster{Session: r.Session, Total: r.Total, CheckedIn: r.CheckedIn,
		Entries: make([]*model.RosterEntry, len(r.Entries))}
	for i, e := range r.Entries {
		en := &model.RosterEntry{Enrollment: e.Enrollment, CandidateName: e.CandidateName,
			MaskedIDNumber: e.MaskedIDNumber, PaymentStatus: e.PaymentStatus, CheckIn: e.CheckIn}
		if e.TicketNo != "" {
			en.TicketNo = &e.TicketNo
		}
		if e.LivePhotoURL != "" {
			en.LivePhotoURL, en.LivePhotoURLExpiresAt = &e.LivePhotoURL, &e.LivePhotoExpiry
		}
		out.Entries[i] = en
	}
	return out, nil
}

// uploadBytes reads an optional upload whole. It reads at most limit+1
// bytes, so an oversized file costs no more memory than that and is still
// refused as too large by media.Prepare in the service.
func uploadBytes(u *graphql.Upload, limit int64) ([]byte, error) {
	if u == nil || u.File == nil {
		return nil, nil
	}
	return io.ReadAll(io.LimitReader(u.File, limit+1))
}
