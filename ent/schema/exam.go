package schema

import (
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

// QuestionAnswer is the key of a question: option indexes (0-based, as stored,
// ascending) for SINGLE and MULTIPLE, a bool for TRUE_FALSE.
type QuestionAnswer struct {
	Options []int `json:"options,omitempty"`
	True    *bool `json:"true,omitempty"`
}

// PaperRule asks a paper for Count questions of a type (and, when set, of a
// category), each worth Points (0: the question's own points; FORMAL papers
// state the points of every rule).
type PaperRule struct {
	Type     string `json:"type"`
	Category string `json:"category,omitempty"`
	Count    int    `json:"count"`
	Points   int    `json:"points"`
}

// PaperSlot is one item of a drawn paper as stored on its attempt: which
// question, its points, and the display order of its options (OptionMap[d]
// is the stored index of display option d).
type PaperSlot struct {
	QuestionID int   `json:"q"`
	Points     int   `json:"p"`
	OptionMap  []int `json:"o,omitempty"`
}

// Question is an item of a subject's question bank. Candidates never read
// questions: papers are drawn on the server and carry no answers.
type Question struct{ ent.Schema }

// Mixin of Question.
func (Question) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Question.
func (Question) Fields() []ent.Field {
	return []ent.Field{
		field.Int("subject_id").Immutable().Annotations(entgql.Type("ID")),
		field.Enum("type").Values("SINGLE", "MULTIPLE", "TRUE_FALSE").Annotations(entgql.Type("QuestionType")),
		// category tags questions for template rules (法律法规, 安全管理, 专业技术, …).
		field.String("category").Default("").Validate(maxRunes(32)).Annotations(entgql.OrderField("CATEGORY")),
		field.Text("stem").NotEmpty().Validate(maxRunes(2000)),
		// options: 2–8 for choice questions, none for TRUE_FALSE (checked by internal/exam/bank).
		field.Strings("options").Optional(),
		field.JSON("answer", QuestionAnswer{}).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Text("explanation").Default("").Validate(maxRunes(2000)),
		field.Int("points").Default(1).Range(1, 10),
		field.Bool("active").Default(true),
	}
}

// Edges of Question.
func (Question) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("subject", Subject.Type).Field("subject_id").Unique().Required().Immutable(),
	}
}

// Indexes of Question: papers are drawn from a subject's active questions.
func (Question) Indexes() []ent.Index {
	return []ent.Index{index.Fields("subject_id", "active", "type", "category")}
}

// Annotations of Question.
func (Question) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Question: ADMIN and REVIEWER read, ADMIN writes; questions are
// retired (active=false), never deleted, since attempts refer to them.
func (Question) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin),
			privacy.AlwaysDenyRule(),
		},
	}
}

// PaperTemplate says how a subject's mock (测试试卷) or formal paper is drawn:
// counts per type and category, points, duration and pass mark.
type PaperTemplate struct{ ent.Schema }

// Mixin of PaperTemplate.
func (PaperTemplate) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of PaperTemplate.
func (PaperTemplate) Fields() []ent.Field {
	return []ent.Field{
		field.Int("subject_id").Immutable().Annotations(entgql.Type("ID")),
		field.Enum("kind").Values("MOCK", "FORMAL").Annotations(entgql.Type("PaperKind")),
		field.String("name").NotEmpty().Validate(maxRunes(64)).Annotations(entgql.OrderField("NAME")),
		field.Int("duration_minutes").Range(5, 600),
		field.Int("pass_mark").Default(60).Range(0, 100),
		// rules: exposed to GraphQL as [PaperRule!]! (graph/bank.graphqls.draft).
		field.JSON("rules", []PaperRule{}).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("active").Default(true),
	}
}

// Edges of PaperTemplate.
func (PaperTemplate) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("subject", Subject.Type).Field("subject_id").Unique().Required().Immutable(),
	}
}

// Indexes of PaperTemplate.
func (PaperTemplate) Indexes() []ent.Index {
	return []ent.Index{index.Fields("subject_id", "kind", "name").Unique()}
}

// Annotations of PaperTemplate.
func (PaperTemplate) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of PaperTemplate: staff read, ADMIN writes, nobody deletes.
func (PaperTemplate) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer, viewer.Proctor, viewer.ExamSite, viewer.TrainingOrg),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.AllowRoles(viewer.Admin),
			privacy.AlwaysDenyRule(),
		},
	}
}
