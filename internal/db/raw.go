package db

import (
	"context"
	stdsql "database/sql"
	"errors"
)

// Querier runs one hand-written statement outside any transaction: an
// *ent.Client built with the sql/execquery feature, or the counting driver
// under it. The hot paths' one-statement batches on PostgreSQL use it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
}

// IDSet runs query, whose one column is an id, and returns the ids as a
// set. A statement's outcome, its commit included, is known only once its
// rows are drained and closed, which IDSet does before it answers.
func IDSet(ctx context.Context, q Querier, query string, args ...any) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	ids := map[int]bool{}
	for rows.Next() {
		var id int
		if err = rows.Scan(&id); err != nil {
			break
		}
		ids[id] = true
	}
	if err = errors.Join(err, rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return ids, nil
}
