// Package schematype holds Go types shared by several ent fields, so the
// GraphQL enum they map to binds to one Go type.
package schematype

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// ExamCategory is the category of the construction safety officer exams:
// A (company principal), B (project lead), C1 (machinery), C2 (civil).
type ExamCategory string

// Categories.
const (
	CategoryA  ExamCategory = "A"
	CategoryB  ExamCategory = "B"
	CategoryC1 ExamCategory = "C1"
	CategoryC2 ExamCategory = "C2"
)

// Values implements ent's enum interface.
func (ExamCategory) Values() []string { return []string{"A", "B", "C1", "C2"} }

// MarshalGQL writes the enum value.
func (c ExamCategory) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(c))) }

// UnmarshalGQL reads and checks the enum value.
func (c *ExamCategory) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(ExamCategory("").Values(), s) {
		return fmt.Errorf("%v is not a valid ExamCategory", v)
	}
	*c = ExamCategory(s)
	return nil
}
