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
		field.Int("candidate_id").Immutable(),
		field.Int("plan_id").Immutable(),
		field.Int("subject_id").Immutable(),
		// session_id is the seat held; site_id copies the session's site for privacy filters.
		field.Int("session_id").Optional().Nillable(),
		field.Int("site_id").Optional().Nillable(),
		field.Int("company_id").Optional().Nillable().Comment("employer that enrolled and pays, if any"),
		field.Int("training_org_id").Optional().Nillable().Comment("institution that assigned it through a plan"),
		field.Int("enrolled_by_id").Optional().Nillable(),
		field.Enum("source").Values("SELF", "COMPANY", "PLAN").Default("SELF").Annotations(entgql.Type("EnrollmentSource")),
		field.Enum("status").Values("PENDING_REVIEW", "APPROVED", "REJECTED", "CANCELLED").Default("PENDING_REVIEW").
			Annotations(entgql.Type("EnrollmentStatus"), entgql.OrderField("STATUS")),
		field.Time("pledge_accepted_at"),
		field.Time("submitted_at").Annotations(entgql.OrderField("SUBMITTED_AT")),
		field.Time("reviewed_at").Optional().Nillable(),
		field.Int("reviewer_id").Optional().Nillable(),
		field.Int("review_department_id").Optional().Nillable(),
		field.String("review_reason").Optional().Validate(maxRunes(500)),
		field.Int("fee_cents").NonNegative(),
		field.Enum("payment_status").Values("UNPAID", "PENDING", "PAID").Default("UNPAID").Annotations(entgql.Type("PaymentStatus")),
		field.Time("paid_at").Optional().Nillable(),
		field.String("ticket_no").Optional().Nillable().Unique().Validate(maxRunes(32)),
		field.Time("checked_in_at").Optional().Nillable(),
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

// Payment covers one or more enrollments: online through the gateway, by
// bank transfer with a proof, or at the site.
type Payment struct{ ent.Schema }

// Mixin of Payment.
func (Payment) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Payment.
func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.Int("payer_id").Immutable(),
		field.Int("company_id").Optional().Nillable().Immutable(),
		field.Enum("method").Values("ONLINE", "BANK_TRANSFER", "ONSITE").Immutable().Annotations(entgql.Type("PaymentMethod")),
		field.Int("amount_cents").NonNegative().Immutable(),
		field.Enum("status").Values("CREATED", "PENDING_CONFIRMATION", "PAID", "REJECTED", "FAILED", "CANCELLED").Default("CREATED").
			Annotations(entgql.Type("PaymentState"), entgql.OrderField("STATUS")),
		field.String("order_no").Unique().Immutable().Validate(maxRunes(40)),
		field.String("gateway_txn_id").Optional().Nillable().Unique().Validate(maxRunes(64)),
		field.Int("proof_attachment_id").Optional().Nillable(),
		field.Int("confirmed_by_id").Optional().Nillable(),
		field.Time("confirmed_at").Optional().Nillable(),
		field.String("reason").Optional().Validate(maxRunes(500)),
		field.Time("paid_at").Optional().Nillable(),
	}
}

// Edges of Payment.
func (Payment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("payer", User.Type).Field("payer_id").Unique().Required().Immutable(),
		edge.To("enrollments", Enrollment.Type),
		edge.To("proof", Attachment.Type).Field("proof_attachment_id").Unique(),
	}
}

// Indexes of Payment.
func (Payment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("payer_id", "status"), index.Fields("status", "method")}
}

// Annotations of Payment.
func (Payment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Payment: payers read theirs (companies their company's);
// reviewers and admins all; changes through the payment service.
func (Payment) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(authz.Or(authz.Column("payer_id", authz.Self), authz.Column("company_id", authz.Org)), viewer.Company),
			authz.FilterQuery(authz.Column("payer_id", authz.Self)),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			privacy.AlwaysDenyRule(),
		},
	}
}

// InvoiceProfile holds a company's invoice details (发票信息).
type InvoiceProfile struct{ ent.Schema }

// Mixin of InvoiceProfile.
func (InvoiceProfile) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of InvoiceProfile.
func (InvoiceProfile) Fields() []ent.Field {
	return []ent.Field{
		field.Int("organization_id").Unique().Immutable(),
		field.String("title").NotEmpty().Validate(maxRunes(128)).Comment("发票抬头"),
		field.String("tax_number").NotEmpty().Validate(maxRunes(32)).Comment("纳税人识别号"),
		field.String("address").Optional().Validate(maxRunes(256)),
		field.String("phone").Optional().Validate(maxRunes(32)),
		field.String("bank_name").Optional().Validate(maxRunes(128)),
		field.String("bank_account").Optional().Validate(maxRunes(64)),
		field.String("email").Optional().Validate(maxRunes(128)),
	}
}

// Edges of InvoiceProfile.
func (InvoiceProfile) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("organization", Organization.Type).Field("organization_id").Unique().Required().Immutable(),
	}
}

// Annotations of InvoiceProfile.
func (InvoiceProfile) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate())}
}

// Policy of InvoiceProfile: the company keeps its own; reviewers and admins read.
func (InvoiceProfile) Policy() ent.Policy {
	own := authz.Column("organization_id", authz.Org)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(own, viewer.Company),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.Company}, Ops: ent.OpCreate | ent.OpUpdateOne,
				Owner: own, OwnerField: "organization_id", OwnerValue: authz.Org,
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}

// CheckIn (实名认证) records that a seated candidate was identified at the
// site: the ID reader's data and a live photo, matched against the roster.
type CheckIn struct{ ent.Schema }

// Fields of CheckIn.
func (CheckIn) Fields() []ent.Field {
	return []ent.Field{
		field.Int("enrollment_id").Unique().Immutable(),
		field.Int("session_id").Immutable(),
		field.Int("site_id").Immutable(),
		field.Int("operator_id").Immutable(),
		field.String("reader_name").Validate(maxRunes(64)).Immutable(),
		field.Int("reader_photo_id").Optional().Nillable().Immutable(),
		field.Int("live_photo_id").Immutable(),
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
