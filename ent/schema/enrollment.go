package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Enrollment (报名) is a candidate's place in a plan for a subject: pledge,
// review, payment, seat, ticket and check-in. Its state changes only through
// internal/enrollment, which keeps seats and statuses consistent.
type Enrollment struct{ ent.Schema }

// Mixin of Enrollment.
func (Enrollment) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Enrollment.
func (Enrollment) Fields() []ent.Field {
	return []ent.Field{
		field.Int("candidate_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("plan_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("subject_id").Immutable().Annotations(entgql.Type("ID")),
		// session_id is the seat held; site_id copies the session's site for privacy filters.
		field.Int("session_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Int("site_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Int("company_id").Optional().Nillable().Comment("employer that enrolled and pays, if any").Annotations(entgql.Type("ID")),
		field.Int("training_org_id").Optional().Nillable().Comment("institution that assigned it through a plan").Annotations(entgql.Type("ID")),
		field.Int("enrolled_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Enum("source").Values("SELF", "COMPANY", "PLAN").Default("SELF").Annotations(entgql.Type("EnrollmentSource")),
		field.Enum("status").Values("PENDING_REVIEW", "APPROVED", "REJECTED", "CANCELLED").Default("PENDING_REVIEW").
			Annotations(entgql.Type("EnrollmentStatus"), entgql.OrderField("STATUS")),
		field.Time("pledge_accepted_at"),
		field.Time("submitted_at").Annotations(entgql.OrderField("SUBMITTED_AT")),
		field.Time("reviewed_at").Optional().Nillable(),
		field.Int("reviewer_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Int("review_department_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.String("review_reason").Optional().Validate(maxRunes(500)),
		field.Int("fee_cents").NonNegative(),
		field.Enum("payment_status").Values("UNPAID", "PENDING", "PAID").Default("UNPAID").Annotations(entgql.Type("PaymentStatus")),
		field.Time("paid_at").Optional().Nillable(),
		field.String("ticket_no").Optional().Nillable().Unique().Validate(maxRunes(32)),
		field.Time("checked_in_at").Optional().Nillable(),
		// ticket_notified_at marks the "ticket ready" notice as sent (claimed by
		// one conditional UPDATE, so replicas and restarts never send it twice).
		field.Time("ticket_notified_at").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of Enrollment.
func (Enrollment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("candidate", User.Type).Field("candidate_id").Unique().Required().Immutable(),
		edge.To("plan", ExamPlan.Type).Field("plan_id").Unique().Required().Immutable(),
		edge.To("subject", Subject.Type).Field("subject_id").Unique().Required().Immutable(),
		edge.To("session", ExamSession.Type).Field("session_id").Unique(),
		edge.To("company", Organization.Type).Field("company_id").Unique(),
		edge.To("review_department", Organization.Type).Field("review_department_id").Unique(),
		edge.From("payments", Payment.Type).Ref("enrollments"),
		edge.To("check_in", CheckIn.Type).Unique().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of Enrollment.
func (Enrollment) Indexes() []ent.Index {
	return []ent.Index{
		// One live enrollment per candidate, plan and subject (partial unique
		// index: cancelled and rejected ones do not count).
		index.Fields("candidate_id", "plan_id", "subject_id").Unique().
			Annotations(entsql.IndexWhere("status IN ('PENDING_REVIEW', 'APPROVED')")),
		index.Fields("session_id"),
		index.Fields("site_id", "status"),
		index.Fields("company_id", "status"),
		index.Fields("status", "submitted_at"),
	}
}

// Annotations of Enrollment.
func (Enrollment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Enrollment: candidates read theirs, companies their staff's, sites
// those seated with them, institutions those they assigned; reviewers and
// admins all. Changes go through the enrollment service.
func (Enrollment) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(authz.Column("company_id", authz.Org), viewer.Company),
			authz.FilterQuery(authz.Column("site_id", authz.Org), viewer.ExamSite, viewer.Proctor),
			authz.FilterQuery(authz.Column("training_org_id", authz.Org), viewer.TrainingOrg),
			authz.FilterQuery(authz.Column("candidate_id", authz.Self), viewer.Candidate),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			privacy.AlwaysDenyRule(),
		},
	}
}
