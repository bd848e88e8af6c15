package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Job is a durable scheduled job (internal/jobs): its state lives in the
// database, so a deadline or a reminder fires even when no client is
// connected and after the server restarts. Only system code touches it.
type Job struct{ ent.Schema }

// Fields of Job.
func (Job) Fields() []ent.Field {
	return []ent.Field{
		// kind names the handler ("attempt.deadline"); key names the
		// occurrence ("attempt:42"). Scheduling (kind, key) twice updates
		// the one row.
		field.String("kind").NotEmpty().Validate(maxRunes(64)).Immutable(),
		field.String("key").NotEmpty().Validate(maxRunes(160)).Immutable(),
		// payload is small JSON for the handler.
		field.Bytes("payload").Optional().MaxLen(16 << 10),
		field.Time("run_at"),
		field.Enum("status").Values("PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED").Default("PENDING"),
		// attempts counts claims (runs started), including runs whose runner
		// died; it is reset when a finished job is re-armed.
		field.Int("attempts").Default(0),
		field.Text("last_error").Optional(),
		// generation is bumped by every Schedule of the row: a runner that
		// finishes a run claimed at an older generation leaves the new
		// schedule pending instead of marking it done.
		field.Int("generation").Default(0),
		// locked_by/locked_until: the runner holding the job and its lease;
		// another runner may take a RUNNING job once the lease has passed.
		field.String("locked_by").Optional().Nillable(),
		field.Time("locked_until").Optional().Nillable(),
		field.Time("done_at").Optional().Nillable(),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Indexes of Job.
func (Job) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("kind", "key").Unique(),
		index.Fields("status", "run_at"),       // due pending jobs
		index.Fields("status", "locked_until"), // expired leases
	}
}

// Annotations of Job.
func (Job) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of Job.
func (Job) Policy() ent.Policy { return systemOnly() }
