package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Announcement is a 系统公告, published by ADMIN, read by everyone.
type Announcement struct{ ent.Schema }

// Mixin of Announcement.
func (Announcement) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Announcement.
func (Announcement) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().Validate(maxRunes(200)),
		field.Text("body").NotEmpty().Validate(maxRunes(20000)),
		field.Time("published_at").Default(time.Now).Annotations(entgql.OrderField("PUBLISHED_AT")),
		field.Int("author_id").Optional().Nillable().Annotations(entgql.Type("ID"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of Announcement.
func (Announcement) Indexes() []ent.Index { return []ent.Index{index.Fields("published_at")} }

// Annotations of Announcement.
func (Announcement) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// Policy of Announcement.
func (Announcement) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{authz.AllowAnyone()},
		Mutation: privacy.MutationPolicy{
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin),
			privacy.AlwaysDenyRule(),
		},
	}
}
