package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/entql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Organization is a company, exam site, training institution or department.
type Organization struct{ ent.Schema }

// Mixin of Organization.
func (Organization) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Organization.
func (Organization) Fields() []ent.Field {
	skipInputs := entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)
	return []ent.Field{
		field.Enum("kind").Values("COMPANY", "EXAM_SITE", "TRAINING_ORG", "DEPARTMENT").Immutable().
			Annotations(entgql.Type("OrganizationKind"), entgql.OrderField("KIND")),
		// name is unique per kind: one company, one account (DOMAIN.md step 1).
		field.String("name").NotEmpty().Validate(maxRunes(128)).Annotations(entgql.OrderField("NAME")),
		field.String("region").Optional().Validate(maxRunes(64)),
		field.String("contact").Optional().Validate(maxRunes(64)),
		field.String("phone").Optional().Validate(maxRunes(20)),
		field.String("email").Optional().Validate(maxRunes(128)),
		field.String("address").Optional().Validate(maxRunes(256)),
		field.Enum("status").Values("PENDING", "APPROVED", "REJECTED").Default("APPROVED").
			Annotations(entgql.Type("OrganizationStatus"), entgql.OrderField("STATUS"), skipInputs),
		field.String("review_reason").Optional().Validate(maxRunes(500)).Annotations(skipInputs),
		field.Time("reviewed_at").Optional().Nillable().Annotations(skipInputs),
		field.Int("reviewed_by_id").Optional().Nillable().Annotations(entgql.Type("ID"), skipInputs),
	}
}

// Edges of Organization.
func (Organization) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("members", User.Type).Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.To("reviewed_by", User.Type).Field("reviewed_by_id").Unique().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.To("rooms", Room.Type).Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of Organization.
func (Organization) Indexes() []ent.Index {
	return []ent.Index{index.Fields("kind", "name").Unique()}
}

// Annotations of Organization.
func (Organization) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// Policy of Organization: sites, training institutions and departments are
// public; companies are seen by reviewers, admins and their own members.
func (Organization) Policy() ent.Policy {
	notCompany := entql.FieldNEQ("kind", "COMPANY")
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterAnonymousQuery(notCompany),
			authz.FilterQuery(authz.Or(authz.Static(notCompany), authz.Column("id", authz.Org))),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			// Reviewers approve or reject company registrations.
			authz.AllowOwn(authz.MutationSpec{
				// OpUpdate: the review is one conditional UPDATE … WHERE status = 'PENDING'.
				Roles: []viewer.Role{viewer.Reviewer}, Ops: ent.OpUpdateOne | ent.OpUpdate,
				Owner:  authz.Static(entql.FieldEQ("kind", "COMPANY")),
				Fields: []string{"status", "review_reason", "reviewed_at", "reviewed_by_id", "updated_at"},
			}),
			// Members keep their own organisation's contact details current.
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.Company, viewer.ExamSite, viewer.TrainingOrg}, Ops: ent.OpUpdateOne,
				Owner:  authz.Column("id", authz.Org),
				Fields: []string{"contact", "phone", "email", "address", "updated_at"},
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}
