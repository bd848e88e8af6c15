// Package audit records every committed change: who, what, which record,
// when, from which address. The record is written by an ent hook in the same
// transaction as the change, so it exists exactly when the change does.
package audit

import (
	"context"
	"log/slog"
	"slices"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/audit/trail"
	"github.com/kaowu/kaowu/internal/viewer"
)

// quiet entities are security bookkeeping, not changes anyone reviews.
// Evidence records are a hash-chained audit trail of their own; answer
// saves record their own sequence and time and are the exam's hot path;
// certificate number counters are allocation, the certificates are audited.
var quiet = []string{ent.TypeAuditLog, ent.TypeLoginThrottle, ent.TypeCaptcha, ent.TypeVerificationCode,
	ent.TypeEvidenceRecord, ent.TypeJob, ent.TypeAttemptAnswer, ent.TypeCertificateCounter}

// noise are fields of bookkeeping updates that carry no decision of their
// own: session touches on every request and exam heartbeat, and the seat
// counter (the enrollment that took or gave back the seat is audited itself).
var noise = map[string][]string{
	ent.TypeSession:     {"last_seen_at", "keep_alive_until"},
	ent.TypeExamSession: {"taken", "updated_at"},
}

// Hook returns the ent hook; install it with client.Use at wiring time.
func Hook(log *slog.Logger) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if skip(m) {
				return next.Mutate(ctx, m)
			}
			var ids []int
			var rows *trail.Rows
			if m.Op().Is(ent.OpUpdate | ent.OpDelete) {
				// Bulk changes: the schema's trail hook names the rows, after
				// privacy has narrowed the change to what the viewer may touch.
				ctx, rows = trail.With(ctx)
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			if rows != nil && rows.Set {
				ids = rows.IDs
			}
			if id, ok := mutationID(m); ok {
				ids = []int{id}
			} else if m.Op().Is(ent.OpUpdate|ent.OpDelete) && len(ids) == 0 {
				return v, nil // a bulk change that matched no row changed nothing
			}
			if err := write(ctx, m, ids); err != nil {
				log.Error("audit write failed", "type", m.Type(), "err", err)
				return nil, err // no change without its record
			}
			return v, nil
		})
	}
}

func skip(m ent.Mutation) bool {
	if slices.Contains(quiet, m.Type()) {
		return true
	}
	if fields, ok := noise[m.Type()]; ok && m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
		for _, f := range append(m.Fields(), m.AddedFields()...) {
			if !slices.Contains(fields, f) {
				return false
			}
		}
		return true
	}
	return false
}

func mutationID(m ent.Mutation) (int, bool) {
	if x, ok := m.(interface{ ID() (int, bool) }); ok {
		return x.ID()
	}
	return 0, false
}

func write(ctx context.Context, m ent.Mutation, ids []int) error {
	c, ok := m.(interface{ Client() *ent.Client })
	if !ok {
		return nil
	}
	client := c.Client()
	fields := append(m.Fields(), m.ClearedFields()...)
	fields = slices.DeleteFunc(fields, func(f string) bool { return f == "updated_at" })
	req := viewer.RequestFrom(ctx)
	actorRole := "SYSTEM"
	var actorID *int
	if v := viewer.FromContext(ctx); v != nil {
		actorRole, actorID = string(v.Role), &v.UserID
	} else if req.IP != "" {
		// An HTTP request without a login (registration, login itself).
		actorRole = "ANONYMOUS"
	}
	sys := viewer.SystemContext(ctx)
	mk := func(id *int) *ent.AuditLogCreate {
		return client.AuditLog.Create().SetNillableActorID(actorID).SetActorRole(actorRole).
			SetOperation(req.Operation).SetEntityType(m.Type()).SetAction(action(m.Op())).
			SetNillableEntityID(id).SetFields(fields).SetIP(req.IP)
	}
	if len(ids) == 0 {
		return mk(nil).Exec(sys)
	}
	builders := make([]*ent.AuditLogCreate, len(ids))
	for i := range ids {
		builders[i] = mk(&ids[i])
	}
	return client.AuditLog.CreateBulk(builders...).Exec(sys)
}

func action(op ent.Op) string {
	switch {
	case op.Is(ent.OpCreate):
		return "CREATE"
	case op.Is(ent.OpUpdate | ent.OpUpdateOne):
		return "UPDATE"
	default:
		return "DELETE"
	}
}
