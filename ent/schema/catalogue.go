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

// Subject is an exam subject of the catalogue, with its fee: data, not code.
type Subject struct{ ent.Schema }

// Mixin of Subject.
func (Subject) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Subject.
func (Subject) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().Validate(maxRunes(32)).Unique().Annotations(entgql.OrderField("CODE")),
		field.String("name").NotEmpty().Validate(maxRunes(128)).Annotations(entgql.OrderField("NAME")),
		// category: A, B, C1, C2 for the construction safety officer exams; OTHER for the rest.
		field.Enum("category").Values("A", "B", "C1", "C2", "OTHER").Default("OTHER").Annotations(entgql.Type("SubjectCategory")),
		field.Int("fee_cents").NonNegative().Comment("fee in fen (1/100 yuan)"),
		field.Int("pass_mark").Default(60).Range(0, 100),
		field.Bool("has_practical").Default(false),
		field.Bool("active").Default(true),
	}
}

// Annotations of Subject.
func (Subject) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}

// Policy of Subject: public catalogue, edited by ADMIN, never deleted.
func (Subject) Policy() ent.Policy {
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

// Room is an exam room of a site. Rooms are disabled, never deleted.
type Room struct{ ent.Schema }

// Mixin of Room.
func (Room) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Room.
func (Room) Fields() []ent.Field {
	return []ent.Field{
		field.Int("site_id").Immutable().Annotations(entgql.Type("ID")),
		field.String("name").NotEmpty().Validate(maxRunes(64)).Annotations(entgql.OrderField("NAME")),
		field.Int("capacity").Positive().Max(1000).Annotations(entgql.OrderField("CAPACITY")),
		field.String("location").Optional().Validate(maxRunes(256)),
		field.Bool("disabled").Default(false),
	}
}

// Edges of Room.
func (Room) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("site", Organization.Type).Ref("rooms").Field("site_id").Unique().Required().Immutable(),
	}
}

// Indexes of Room.
func (Room) Indexes() []ent.Index {
	return []ent.Index{index.Fields("site_id", "name").Unique()}
}

// Annotations of Room.
func (Room) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
		entsql.Checks(map[string]string{"room_capacity_positive": "capacity > 0"}),
	}
}

// Policy of Room: public; sites manage their own; nobody deletes.
func (Room) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{authz.AllowAnyone()},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.ExamSite}, Ops: ent.OpCreate | ent.OpUpdateOne,
				Owner: authz.Column("site_id", authz.Org), OwnerField: "site_id", OwnerValue: authz.Org,
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}
