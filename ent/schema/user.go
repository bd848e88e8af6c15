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

// User is an account: a candidate, a company, or staff of a role.
type User struct{ ent.Schema }

// Mixin of User.
func (User) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("role").Values("CANDIDATE", "COMPANY", "TRAINING_ORG", "EXAM_SITE", "REVIEWER", "PROCTOR", "ADMIN").
			Annotations(entgql.Type("Role"), entgql.OrderField("ROLE")),
		// login is the resident ID number (or other document number) for
		// candidates, a chosen account name otherwise; stored normalised.
		field.String("login").NotEmpty().Validate(maxRunes(64)).Unique().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("id_type").Values("RESIDENT_ID", "PASSPORT", "HK_MACAO_PERMIT", "TAIWAN_PERMIT", "FOREIGN_PERMANENT_RESIDENT").
			Optional().Nillable().Annotations(entgql.Type("IDType")),
		field.String("id_number").Optional().Nillable().Validate(maxRunes(32)).Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// name: a person's name, or the company name for company accounts.
		field.String("name").NotEmpty().Validate(maxRunes(128)).Annotations(entgql.OrderField("NAME")),
		field.String("phone").Optional().Validate(maxRunes(20)).Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("email").Optional().Validate(maxRunes(128)),
		field.String("password_hash").Sensitive().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("status").Values("ACTIVE", "PENDING", "REJECTED", "DISABLED").Default("ACTIVE").
			Annotations(entgql.Type("AccountStatus"), entgql.OrderField("STATUS")),
		field.Int("organization_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Time("password_changed_at").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("organization", Organization.Type).Ref("members").Field("organization_id").Unique(),
		edge.To("sessions", Session.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("notifications", Notification.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		// Inverse edges, for the privacy filters below (who may see whom).
		edge.To("profile", Profile.Type).Unique().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.From("enrollments", Enrollment.Type).Ref("candidate").Annotations(entgql.Skip(entgql.SkipAll)),
		edge.From("training_records", TrainingRecord.Type).Ref("candidate").Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of User.
func (User) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("id_type", "id_number").Unique(),
		index.Fields("role"),
		index.Fields("organization_id"),
	}
}

// Annotations of User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of User: staff see their own organisation, everyone sees themself.
func (User) Policy() ent.Policy {
	self := authz.Column("id", authz.Self)
	members := authz.Column("organization_id", authz.Org)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			// Companies see their accounts and the candidates whose profile names them;
			// sites and their proctors the candidates seated with them; training
			// institutions the candidates they trained or assigned.
			authz.FilterQuery(authz.Or(self, members, authz.Through("profile", "company_id", authz.Org)), viewer.Company),
			authz.FilterQuery(authz.Or(self, members, authz.Through("enrollments", "site_id", authz.Org)), viewer.ExamSite, viewer.Proctor),
			authz.FilterQuery(authz.Or(self, members, authz.Through("training_records", "training_org_id", authz.Org),
				authz.Through("enrollments", "training_org_id", authz.Org)), viewer.TrainingOrg),
			authz.FilterQuery(authz.Or(self, members)),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.AllowOwn(authz.MutationSpec{
				Roles: viewer.AllRoles, Ops: ent.OpUpdateOne, Owner: self,
				Fields: []string{"name", "email", "updated_at"},
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}
