package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// TrainingRecord is training a candidate received at a training institution:
// hours and result, approved or rejected by that institution. Non-social
// candidates need ≥ 32 approved hours to submit, and take the category of
// their training.
type TrainingRecord struct{ ent.Schema }

// Mixin of TrainingRecord.
func (TrainingRecord) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of TrainingRecord.
func (TrainingRecord) Fields() []ent.Field {
	return []ent.Field{
		field.Int("candidate_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("training_org_id").Immutable().Annotations(entgql.Type("ID")),
		field.Enum("category").GoType(schematype.ExamCategory("")).Annotations(entgql.Type("ExamCategory")),
		field.Float("hours").Min(0).Max(1000),
		field.Time("started_on").Optional().Nillable(),
		field.Time("finished_on").Optional().Nillable(),
		field.Enum("result").Values("PASS", "FAIL").Optional().Nillable().Annotations(entgql.Type("TrainingResult")),
		field.Int("score").Optional().Nillable().Range(0, 100),
		field.Enum("status").Values("PENDING", "APPROVED", "REJECTED").Default("PENDING").Annotations(entgql.Type("ReviewStatus")),
		field.String("review_reason").Optional().Validate(maxRunes(500)),
		field.Int("reviewed_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Time("reviewed_at").Optional().Nillable(),
	}
}

// Edges of TrainingRecord.
func (TrainingRecord) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("candidate", User.Type).Field("candidate_id").Unique().Required().Immutable(),
		edge.To("training_org", Organization.Type).Field("training_org_id").Unique().Required().Immutable(),
	}
}

// Indexes of TrainingRecord.
func (TrainingRecord) Indexes() []ent.Index {
	return []ent.Index{index.Fields("candidate_id", "status"), index.Fields("training_org_id", "status")}
}

// Annotations of TrainingRecord.
func (TrainingRecord) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of TrainingRecord: the institution keeps its own records; candidates
// read theirs; reviewers and admins read all.
func (TrainingRecord) Policy() ent.Policy {
	org := authz.Column("training_org_id", authz.Org)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(org, viewer.TrainingOrg),
			authz.FilterQuery(authz.Column("candidate_id", authz.Self), viewer.Candidate),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.TrainingOrg}, Ops: ent.OpCreate | ent.OpUpdateOne | ent.OpUpdate,
				Owner: org, OwnerField: "training_org_id", OwnerValue: authz.Org,
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}

// Region is a region of the catalogue; plans are searched by region.
type Region struct{ ent.Schema }

// Mixin of Region.
func (Region) Mixin() []ent.Mixin { return []ent.Mixin{AuditMixin{}} }

// Fields of Region.
func (Region) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().Validate(maxRunes(12)).Unique().Annotations(entgql.OrderField("CODE")),
		field.String("name").NotEmpty().Validate(maxRunes(64)).Unique().Annotations(entgql.OrderField("NAME")),
	}
}

// Annotations of Region.
func (Region) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// Policy of Region: public, edited by ADMIN, never deleted.
func (Region) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{authz.AllowAnyone()},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin),
			privacy.AlwaysDenyRule(),
		},
	}
}
