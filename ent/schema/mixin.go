package schema

import (
	"fmt"
	"time"
	"unicode/utf8"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/kaowu/kaowu/internal/audit/trail"
)

// TimeMixin adds creation and update times to an entity.
type TimeMixin struct{ mixin.Schema }

// Hooks of the mixin: every entity with timestamps is audited precisely.
func (TimeMixin) Hooks() []ent.Hook { return []ent.Hook{trail.Hook} }

// AuditMixin is for audited entities without TimeMixin: it lets the audit
// hook learn which rows a bulk change touches after privacy narrowed it.
type AuditMixin struct{ mixin.Schema }

// Hooks of the mixin.
func (AuditMixin) Hooks() []ent.Hook { return []ent.Hook{trail.Hook} }

// Fields of the mixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// maxRunes limits a text field to n characters. ent's MaxLen counts bytes,
// which would cut Chinese names and addresses to a third of the limit.
func maxRunes(n int) func(string) error {
	return func(s string) error {
		if utf8.RuneCountInString(s) > n {
			return fmt.Errorf("value is longer than %d characters", n)
		}
		return nil
	}
}
