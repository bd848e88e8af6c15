package schema

import (
	"time"

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

// Attempt is one sitting of a paper (mock or formal) by a candidate for an
// enrollment. Its paper is drawn from the template with the stored seed, so
// it can be rebuilt exactly; its evidence lives in the hash chain
// "attempt:<id>" (internal/evidence). Changes go through internal/exam.
type Attempt struct{ ent.Schema }

// Mixin of Attempt.
func (Attempt) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Attempt.
func (Attempt) Fields() []ent.Field {
	return []ent.Field{
		field.Int("enrollment_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("candidate_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("session_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("site_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("template_id").Immutable().Annotations(entgql.Type("ID")),
		field.Enum("kind").Values("MOCK", "FORMAL").Immutable().Annotations(entgql.Type("AttemptKind")),
		field.Int64("seed").Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		// The paper as drawn at the start, in display order. Later changes to
		// the bank or the template (questions added or withdrawn) must not
		// change a paper being sat or graded, so it is not redrawn.
		field.JSON("layout", []PaperSlot{}).Optional().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("status").Values("IN_PROGRESS", "SUBMITTED").Default("IN_PROGRESS").
			Annotations(entgql.Type("AttemptStatus"), entgql.OrderField("STATUS")),
		field.Enum("submit_reason").Values("CANDIDATE", "TIME_UP", "FOCUS_LOSS_LIMIT", "PROCTOR_ENDED").
			Optional().Nillable().Annotations(entgql.Type("SubmitReason")),
		field.Time("started_at").Immutable(),
		field.Time("deadline"),
		field.Time("submitted_at").Optional().Nillable(),
		field.Int("focus_losses").Default(0),
		// Consent to camera capture (PIPL art. 29), recorded before the first capture.
		field.Text("consent_text").Immutable(),
		field.Time("consent_at").Immutable(),
		// Objective score on submission; result FAIL below the pass mark, else
		// PENDING_REVIEW until a reviewer passes or fails it.
		field.Int("score").Optional().Nillable(),
		field.Int("pass_mark").Immutable(),
		field.Int("practical_score").Optional().Nillable().Range(0, 100),
		field.Enum("result").Values("FAIL", "PENDING_REVIEW", "PASS").Optional().Nillable().
			Annotations(entgql.Type("AttemptResult"), entgql.OrderField("RESULT")),
		field.Int("reviewed_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Time("reviewed_at").Optional().Nillable(),
		field.String("review_reason").Optional().Validate(maxRunes(500)),
		field.Bool("flagged").Default(false),
		// The seal of the evidence chain at submission (internal/evidence
		// Seal): its SUBMIT record's seq and hash, MAC'd with a server key,
		// so a chain cut short or rewritten afterwards is detected.
		field.Int("evidence_seal_seq").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("evidence_seal_hash").Optional().Validate(maxRunes(64)).Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("evidence_seal_mac").Optional().Validate(maxRunes(64)).Annotations(entgql.Skip(entgql.SkipAll)),
		// The phone companion: a short-lived single-use pairing token (hash),
		// then heartbeats.
		field.Bytes("pair_token_hash").Optional().Nillable().Sensitive().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("pair_token_expires_at").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("phone_state").Values("NONE", "CONNECTED", "LOST").Default("NONE").Annotations(entgql.Type("PhoneState")),
		field.Time("phone_last_seen_at").Optional().Nillable(),
		// The phone's own session token (hash) after pairing.
		field.Bytes("phone_token_hash").Optional().Nillable().Sensitive().Unique().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of Attempt.
func (Attempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("answers", AttemptAnswer.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of Attempt: one mock and one formal attempt per enrollment (a
// failed candidate enrolls again for a retake).
func (Attempt) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("enrollment_id", "kind").Unique(),
		index.Fields("session_id", "status"),
		index.Fields("candidate_id"),
		index.Fields("status", "deadline"),
		index.Fields("result"),
	}
}

// Annotations of Attempt.
func (Attempt) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Attempt: candidates read theirs; the session's site and its
// proctors theirs; reviewers and admins all. Written by the exam services.
func (Attempt) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(authz.Column("site_id", authz.Org), viewer.ExamSite, viewer.Proctor),
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

// AttemptAnswer is the saved answer to one question of an attempt. Saves
// carry the client's sequence number; a save applies only if its sequence is
// newer, so replays and reordered saves change nothing.
type AttemptAnswer struct{ ent.Schema }

// Fields of AttemptAnswer.
func (AttemptAnswer) Fields() []ent.Field {
	return []ent.Field{
		field.Int("attempt_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("question_id").Immutable().Annotations(entgql.Type("ID")),
		// response: display option indexes for choice questions, or a boolean.
		field.JSON("response", map[string]any{}),
		field.Int64("seq"),
		field.Time("saved_at").Default(time.Now),
	}
}

// Edges of AttemptAnswer.
func (AttemptAnswer) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("attempt", Attempt.Type).Ref("answers").Field("attempt_id").Unique().Required().Immutable(),
	}
}

// Indexes of AttemptAnswer.
func (AttemptAnswer) Indexes() []ent.Index {
	return []ent.Index{index.Fields("attempt_id", "question_id").Unique()}
}

// Annotations of AttemptAnswer.
func (AttemptAnswer) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of AttemptAnswer: system only (the exam service reads and writes).
func (AttemptAnswer) Policy() ent.Policy { return systemOnly() }

// ProctorAssignment puts a PROCTOR account on a session.
type ProctorAssignment struct{ ent.Schema }

// Fields of ProctorAssignment.
func (ProctorAssignment) Fields() []ent.Field {
	return []ent.Field{
		field.Int("proctor_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("session_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("site_id").Immutable().Annotations(entgql.Type("ID")),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Indexes of ProctorAssignment.
func (ProctorAssignment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("proctor_id", "session_id").Unique(), index.Fields("session_id")}
}

// Annotations of ProctorAssignment.
func (ProctorAssignment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of ProctorAssignment: the site assigns its proctors; proctors read theirs.
func (ProctorAssignment) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(authz.Column("site_id", authz.Org), viewer.ExamSite),
			authz.FilterQuery(authz.Column("proctor_id", authz.Self), viewer.Proctor),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpUpdate | ent.OpUpdateOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.ExamSite}, Ops: ent.OpCreate | ent.OpDelete | ent.OpDeleteOne,
				Owner: authz.Column("site_id", authz.Org), OwnerField: "site_id", OwnerValue: authz.Org,
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}
