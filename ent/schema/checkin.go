package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// CheckIn (实名认证) records that a seated candidate was identified at the
// site: the ID reader's data and a live photo, matched against the roster.
type CheckIn struct{ ent.Schema }

// Fields of CheckIn.
func (CheckIn) Fields() []ent.Field {
	return []ent.Field{
		field.Int("enrollment_id").Unique().Immutable().Annotations(entgql.Type("ID")),
		field.Int("session_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("site_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("operator_id").Immutable().Annotations(entgql.Type("ID")),
		field.String("reader_name").Validate(maxRunes(64)).Immutable(),
		field.Int("reader_photo_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.Int("live_photo_id").Immutable().Annotations(entgql.Type("ID")),
		field.Time("checked_in_at").Immutable(),
	}
}

// Edges of CheckIn.
func (CheckIn) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("enrollment", Enrollment.Type).Ref("check_in").Field("enrollment_id").Unique().Required().Immutable(),
		edge.To("live_photo", Attachment.Type).Field("live_photo_id").Unique().Required().Immutable(),
	}
}

// Indexes of CheckIn.
func (CheckIn) Indexes() []ent.Index { return []ent.Index{index.Fields("session_id")} }

// Annotations of CheckIn.
func (CheckIn) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Policy of CheckIn: the site and its proctors read theirs; reviewers and
// admins all; written by the check-in service.
func (CheckIn) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(authz.Column("site_id", authz.Org), viewer.ExamSite, viewer.Proctor),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			privacy.AlwaysDenyRule(),
		},
	}
}
