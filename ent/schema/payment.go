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

// Payment covers one or more enrollments: online through the gateway, by
// bank transfer with a proof, or at the site.
type Payment struct{ ent.Schema }

// Mixin of Payment.
func (Payment) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Payment.
func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.Int("payer_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("company_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.Enum("method").Values("ONLINE", "BANK_TRANSFER", "ONSITE").Immutable().Annotations(entgql.Type("PaymentMethod")),
		field.Int("amount_cents").NonNegative().Immutable(),
		field.Enum("status").Values("CREATED", "PENDING_CONFIRMATION", "PAID", "REJECTED", "FAILED", "CANCELLED").Default("CREATED").
			Annotations(entgql.Type("PaymentState"), entgql.OrderField("STATUS")),
		field.String("order_no").Unique().Immutable().Validate(maxRunes(40)),
		field.String("gateway_txn_id").Optional().Nillable().Unique().Validate(maxRunes(64)),
		field.Int("proof_attachment_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Int("confirmed_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
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
		field.Int("organization_id").Unique().Immutable().Annotations(entgql.Type("ID")),
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

// Indexes of InvoiceProfile: one per company. The field's Unique() alone
// makes no database constraint for an edge field.
func (InvoiceProfile) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id").Unique()}
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
