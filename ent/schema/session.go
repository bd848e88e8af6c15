package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Session is a login: an opaque bearer token, stored only as its hash.
type Session struct{ ent.Schema }

// Mixin of Session.
func (Session) Mixin() []ent.Mixin { return []ent.Mixin{AuditMixin{}} }

// Fields of Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("token_hash").Sensitive().Unique().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("user_id").Immutable().Annotations(entgql.Type("ID")),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("last_seen_at").Default(time.Now),
		// expires_at is the absolute end; idle expiry is computed from last_seen_at.
		field.Time("expires_at"),
		// keep_alive_until lets an exam in progress outlive the idle timeout.
		field.Time("keep_alive_until").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
		field.String("revoke_reason").Optional().Validate(maxRunes(64)),
		field.String("ip").Optional().Validate(maxRunes(64)),
		field.String("user_agent").Optional().Validate(maxRunes(256)),
	}
}

// Edges of Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("sessions").Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "revoked_at")}
}

// Policy of Session: a user sees and ends only their own sessions.
func (Session) Policy() ent.Policy {
	own := authz.Column("user_id", authz.Self)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.FilterQuery(own),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowOwn(authz.MutationSpec{
				Roles: viewer.AllRoles, Ops: ent.OpUpdateOne | ent.OpUpdate, Owner: own,
				Fields: []string{"revoked_at", "revoke_reason"},
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}
