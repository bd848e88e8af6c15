// Package jobs runs durable scheduled jobs: the attempt deadline that submits
// an exam with no client connected, certificate expiry and reminders. A job's
// whole state is a row of the jobs table, so a job outlives the process that
// scheduled it and the one that was running it.
//
// Scheduling is an upsert on (kind, key); see Schedule for the rule. Runners
// (any number, in any number of processes) claim due jobs with one
// conditional UPDATE per job, run the handler outside any transaction, and
// record the outcome only if they still hold the job. A runner that dies
// holds its jobs until their lease passes; then any runner takes them over.
// Handlers therefore run at least once, and may run again after a crash:
// they must be idempotent (submitting an already submitted attempt changes
// nothing).
package jobs

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/job"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// MaxPayload bounds a job's JSON payload: jobs carry ids, not documents.
const MaxPayload = 16 << 10

// Schedule arranges for the handler of kind to run with payload at runAt
// (or as soon after as a runner polls). It writes through the caller's
// transaction when ctx carries one, so a job scheduled by a rolled-back
// mutation never exists.
//
// (kind, key) names one job; scheduling it again never duplicates it. What a
// repeated Schedule does depends on the job's state:
//   - none: the job is created, PENDING.
//   - PENDING: run_at and payload are replaced (rescheduled; attempts kept).
//   - RUNNING: run_at and payload are replaced; the run in progress finishes,
//     and the job then stays PENDING for the new run_at instead of DONE.
//   - DONE or FAILED: re-armed (PENDING, attempts reset) only if runAt is
//     later than the run_at it finished for; otherwise nothing changes. So
//     replaying the Schedule call that created a job does not run it again,
//     while a genuinely new occurrence (a renewed certificate's later expiry)
//     does.
//   - CANCELLED: re-armed (PENDING, attempts reset): scheduling after a
//     cancel is an explicit request to run again.
func Schedule(ctx context.Context, client *ent.Client, kind, key string, runAt time.Time, payload any) error {
	if err := checkName(kind, key); err != nil {
		return err
	}
	if runAt.IsZero() {
		return apperr.Input("runAt", "任务执行时间不能为空")
	}
	var data []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			e := apperr.Wrap(err, apperr.BadInput, "任务参数无法编码为 JSON")
			e.Field = "payload"
			return e
		}
		if len(b) > MaxPayload {
			return apperr.Input("payload", "任务参数过大")
		}
		data = b
	}
	c := txn.Client(ctx, client).Job.Create().
		SetKind(kind).SetKey(key).SetRunAt(runAt).SetStatus(job.StatusPENDING)
	if data != nil {
		c.SetPayload(data)
	}
	err := c.OnConflict(
		entsql.ConflictColumns(job.FieldKind, job.FieldKey),
		entsql.ResolveWith(func(u *entsql.UpdateSet) {
			u.SetExcluded(job.FieldRunAt)
			u.SetExcluded(job.FieldPayload)
			u.Set(job.FieldGeneration, expr(func(b *entsql.Builder, col func(string) string) {
				b.WriteString(col(job.FieldGeneration) + " + 1")
			}))
			// A RUNNING job stays with its runner; everything else is pending.
			u.Set(job.FieldStatus, expr(func(b *entsql.Builder, col func(string) string) {
				b.WriteString("CASE WHEN " + col(job.FieldStatus) + " = 'RUNNING' THEN 'RUNNING' ELSE 'PENDING' END")
			}))
			// Rescheduling keeps the retry count; re-arming starts afresh.
			u.Set(job.FieldAttempts, expr(func(b *entsql.Builder, col func(string) string) {
				b.WriteString("CASE WHEN " + col(job.FieldStatus) + " IN ('PENDING', 'RUNNING') THEN " + col(job.FieldAttempts) + " ELSE 0 END")
			}))
			u.Set(job.FieldLastError, expr(func(b *entsql.Builder, col func(string) string) {
				b.WriteString("CASE WHEN " + col(job.FieldStatus) + " IN ('PENDING', 'RUNNING') THEN " + col(job.FieldLastError) + " ELSE NULL END")
			}))
			u.SetNull(job.FieldDoneAt)
		}),
		// The rule above: finished jobs are re-armed only for a later run_at.
		entsql.UpdateWhere(entsql.P(func(b *entsql.Builder) {
			col := qualified(b)
			b.WriteString(col(job.FieldStatus) + " IN ('PENDING', 'RUNNING', 'CANCELLED') OR " +
				col(job.FieldRunAt) + " < " + b.Quote("excluded") + "." + b.Quote(job.FieldRunAt))
		})),
	).Exec(viewer.SystemContext(ctx))
	// The statement returns no row when the WHERE above kept a finished job
	// as it was: that is the documented no-op, not a failure.
	if errors.Is(err, stdsql.ErrNoRows) {
		return nil
	}
	return err
}

// Cancel stops a PENDING job from running. A RUNNING job's handler is not
// interrupted (it may be in another process), but its outcome is then not
// recorded: the job stays CANCELLED. Cancelling a finished or unknown job
// changes nothing. It reports whether a job was cancelled.
func Cancel(ctx context.Context, client *ent.Client, kind, key string) (bool, error) {
	if err := checkName(kind, key); err != nil {
		return false, err
	}
	n, err := txn.Client(ctx, client).Job.Update().
		Where(job.Kind(kind), job.Key(key), job.StatusIn(job.StatusPENDING, job.StatusRUNNING)).
		SetStatus(job.StatusCANCELLED).SetDoneAt(time.Now()).
		ClearLockedBy().ClearLockedUntil().
		Save(viewer.SystemContext(ctx))
	return n > 0, err
}

// Find returns the job (kind, key), or a NOT_FOUND error.
func Find(ctx context.Context, client *ent.Client, kind, key string) (*ent.Job, error) {
	if err := checkName(kind, key); err != nil {
		return nil, err
	}
	j, err := txn.Client(ctx, client).Job.Query().Where(job.Kind(kind), job.Key(key)).Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "没有找到该定时任务")
	}
	return j, err
}

// Decode unmarshals the job's JSON payload into v.
func Decode(j *ent.Job, v any) error {
	if len(j.Payload) == 0 {
		return errors.New("jobs: job has no payload")
	}
	return json.Unmarshal(j.Payload, v)
}

func checkName(kind, key string) error {
	switch {
	case kind == "":
		return apperr.Input("kind", "任务类型不能为空")
	case utf8.RuneCountInString(kind) > 64:
		return apperr.Input("kind", "任务类型不能超过 64 个字符")
	case key == "":
		return apperr.Input("key", "任务标识不能为空")
	case utf8.RuneCountInString(key) > 160:
		return apperr.Input("key", "任务标识不能超过 160 个字符")
	}
	return nil
}

// qualified names a column of the jobs table ("jobs"."status") in the
// dialect of b: inside ON CONFLICT … DO UPDATE a bare name is ambiguous
// with the excluded row.
func qualified(b *entsql.Builder) func(string) string {
	return func(c string) string { return b.Quote(job.Table) + "." + b.Quote(c) }
}

// expr is an SQL expression without arguments over qualified columns.
func expr(fn func(b *entsql.Builder, col func(string) string)) entsql.Querier {
	return entsql.ExprFunc(func(b *entsql.Builder) { fn(b, qualified(b)) })
}
