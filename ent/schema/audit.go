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

// AuditLog records one committed change: who, what, which record, when, from where.
// Written in the same transaction as the change, so it exists iff the change does.
type AuditLog struct{ ent.Schema }

// Fields of AuditLog.
func (AuditLog) Fields() []ent.Field {
	return []ent.Field{
		field.Time("at").Default(time.Now).Immutable().Annotations(entgql.OrderField("AT")),
		field.Int("actor_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.String("actor_role").Optional().Validate(maxRunes(32)).Immutable(),
		// operation is the GraphQL mutation field, or the system job name.
		field.String("operation").Optional().Validate(maxRunes(64)).Immutable(),
		field.String("entity_type").Validate(maxRunes(64)).Immutable().Annotations(entgql.OrderField("ENTITY_TYPE")),
		field.String("action").Validate(maxRunes(16)).Immutable(),
		field.Int("entity_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		// fields names what changed; values are not copied (they may be personal data).
		field.Strings("fields").Optional().Immutable(),
		field.String("ip").Optional().Validate(maxRunes(64)).Immutable(),
	}
}

// Indexes of AuditLog.
func (AuditLog) Indexes() []ent.Index {
	return []ent.Index{index.Fields("entity_type", "entity_id"), index.Fields("actor_id"), index.Fields("at")}
}

// Annotations of AuditLog.
func (AuditLog) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField("auditLogs")}
}

// Policy of AuditLog: admins read it; only system code appends; nobody edits.
func (AuditLog) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			privacy.AlwaysDenyRule(),
		},
	}
}
