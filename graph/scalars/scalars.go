// Package scalars holds the GraphQL scalars whose parse errors must read as
// bad input (BAD_USER_INPUT with a message), not as server faults.
package scalars

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kaowu/kaowu/internal/apperr"
)

// MarshalID writes an entity id.
func MarshalID(id int) graphql.Marshaler { return graphql.MarshalIntID(id) }

// UnmarshalID reads an entity id.
func UnmarshalID(v any) (int, error) {
	id, err := graphql.UnmarshalIntID(v)
	if err != nil {
		return 0, apperr.New(apperr.BadInput, "ID格式不正确")
	}
	return id, nil
}

// MarshalTime writes RFC 3339 with nanoseconds.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads RFC 3339.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, apperr.New(apperr.BadInput, "时间格式不正确，应为RFC 3339格式，如2026-05-01T09:00:00+08:00")
	}
	return t, nil
}
