package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// EvidenceRecord is one link of an evidence hash chain (internal/evidence):
// a snapshot, an exam event, or a proctor's or reviewer's decision. Each
// record holds the hash of the one before it, so an edit, a deletion or a
// reordering is detected by recomputing the chain. Rows are written once and
// never changed; the layout of the hash is documented in internal/evidence.
type EvidenceRecord struct{ ent.Schema }

// Fields of EvidenceRecord. Every field is immutable: the hash covers them.
func (EvidenceRecord) Fields() []ent.Field {
	return []ent.Field{
		// chain names what the records are about, e.g. "attempt:42".
		field.String("chain").NotEmpty().Validate(maxRunes(64)).Immutable(),
		field.Int("seq").Positive().Immutable().Annotations(entgql.OrderField("SEQ")),
		// kind: SNAPSHOT_PC, SNAPSHOT_PHONE, FOCUS_LOSS, PHONE_LOST, … (a string,
		// so later stages add kinds without a schema change).
		field.String("kind").NotEmpty().Validate(maxRunes(32)).Immutable(),
		field.Int("actor_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.Time("at").Immutable(),
		// payload is canonical JSON kept as bytes, not jsonb: PostgreSQL would
		// re-serialise jsonb and the stored bytes would no longer hash the same.
		// Snapshots carry the blob key, content type, size and sha256 — never
		// image bytes.
		field.Bytes("payload").Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("prev_hash").Validate(maxRunes(64)).Immutable(),
		field.String("hash").Validate(maxRunes(64)).Immutable(),
	}
}

// Indexes of EvidenceRecord: (chain, seq) is unique — it is what rejects a
// concurrent writer of the same link.
func (EvidenceRecord) Indexes() []ent.Index {
	return []ent.Index{index.Fields("chain", "seq").Unique()}
}

// Annotations of EvidenceRecord.
func (EvidenceRecord) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Policy of EvidenceRecord: nobody — not even system code — updates or
// deletes a record; only system code appends (through internal/evidence);
// reviewers and admins read every chain.
func (EvidenceRecord) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			// Proctors and exam sites read the chains of attempts they may
			// watch through proctor.Service.Evidence, which checks that
			// and reads as the system; a direct query is theirs only as
			// reviewers or admins.
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			privacy.AlwaysDenyRule(),
		},
	}
}
