// Package txn runs work around the transaction a GraphQL mutation runs in
// (entgql.Transactioner puts an *ent.Tx in the context).
//
// AfterCommit is how events reach subscribers only for writes that happened.
// (Security bookkeeping that must survive a failed request — login counters,
// consumed captchas and codes — is done by self-transacting services instead;
// see auth.SelfTransacting.)
package txn

import (
	"context"

	"github.com/kaowu/kaowu/ent"
)

// Client returns the transactional client in ctx, or fallback outside one.
func Client(ctx context.Context, fallback *ent.Client) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return fallback
}

// AfterCommit runs fn after the transaction in ctx commits, or at once when
// there is none. fn never runs for a rolled-back transaction.
func AfterCommit(ctx context.Context, fn func()) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		fn()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				fn()
			}
			return err
		})
	})
}

// AfterRollback runs fn if the transaction in ctx rolls back; without a
// transaction it does nothing. Services that write outside the database
// (blobs) use it to undo that write when the rows describing it vanish.
func AfterRollback(ctx context.Context, fn func()) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return
	}
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Rollback(ctx, tx)
			fn()
			return err
		})
	})
}

// WithTx runs fn in a new transaction of client unless ctx already carries
// one, in which case fn joins it. For services called outside GraphQL.
func WithTx(ctx context.Context, client *ent.Client, fn func(ctx context.Context) error) error {
	if ent.TxFromContext(ctx) != nil {
		return fn(ctx)
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	ctx = ent.NewTxContext(ctx, tx)
	ctx = ent.NewContext(ctx, tx.Client())
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback()
			panic(r)
		}
	}()
	if err := fn(ctx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
