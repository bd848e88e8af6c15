package schema

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/entql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// ExamPlan is an exam batch (考试计划/批次): an enrollment window, an exam
// date range, a region, and its sessions. A training institution drafts it
// and edits it until a reviewer submits it; nobody deletes it.
type ExamPlan struct{ ent.Schema }

// Mixin of ExamPlan.
func (ExamPlan) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of ExamPlan.
func (ExamPlan) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Validate(maxRunes(128)).Annotations(entgql.OrderField("NAME")),
		field.Int("region_id").Annotations(entgql.Type("ID")),
		field.Int("training_org_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.Time("enroll_starts_at"),
		field.Time("enroll_ends_at"),
		field.Time("exam_from").Annotations(entgql.OrderField("EXAM_FROM")),
		field.Time("exam_to"),
		field.Enum("status").Values("DRAFT", "SUBMITTED").Default("DRAFT").Annotations(entgql.Type("PlanStatus")),
		field.Time("submitted_at").Optional().Nillable(),
		field.Int("submitted_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
	}
}

// Edges of ExamPlan.
func (ExamPlan) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("region", Region.Type).Field("region_id").Unique().Required(),
		edge.To("training_org", Organization.Type).Field("training_org_id").Unique().Immutable(),
		edge.From("sessions", ExamSession.Type).Ref("plan").Annotations(entgql.RelayConnection()),
	}
}

// Indexes of ExamPlan.
func (ExamPlan) Indexes() []ent.Index {
	return []ent.Index{index.Fields("region_id", "exam_from"), index.Fields("training_org_id")}
}

// Annotations of ExamPlan.
func (ExamPlan) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of ExamPlan: public; institutions edit their own; reviewers submit.
func (ExamPlan) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{authz.AllowAnyone()},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			// An institution creates its plans as drafts (the status default
			// is part of the create) and edits them only while they are drafts.
			createdAs("status", "DRAFT", viewer.TrainingOrg),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.TrainingOrg}, Ops: ent.OpCreate,
				OwnerField: "training_org_id", OwnerValue: authz.Org,
				Fields: []string{"name", "region_id", "training_org_id", "enroll_starts_at", "enroll_ends_at", "exam_from", "exam_to", "status", "created_at", "updated_at"},
			}),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.TrainingOrg}, Ops: ent.OpUpdateOne | ent.OpUpdate,
				Owner: ownDraft(entql.FieldEQ("status", "DRAFT")), OwnerField: "training_org_id", OwnerValue: authz.Org,
				Fields: []string{"name", "region_id", "enroll_starts_at", "enroll_ends_at", "exam_from", "exam_to", "updated_at"},
			}),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.Reviewer}, Ops: ent.OpUpdateOne | ent.OpUpdate,
				AnyRow: true,
				Fields: []string{"status", "submitted_at", "submitted_by_id", "updated_at"},
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}

// ExamSession is one sitting (场次): a room at a time for a subject, with a
// fixed number of seats. taken counts held seats; it only changes by one
// conditional UPDATE (taken < capacity), and a CHECK keeps it in bounds.
type ExamSession struct{ ent.Schema }

// Mixin of ExamSession.
func (ExamSession) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of ExamSession.
func (ExamSession) Fields() []ent.Field {
	return []ent.Field{
		field.Int("plan_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("subject_id").Annotations(entgql.Type("ID")),
		field.Int("room_id").Annotations(entgql.Type("ID")),
		// site_id and training_org_id copy the room's site and the plan's
		// institution, so privacy filters need no joins.
		field.Int("site_id").Annotations(entgql.Type("ID")),
		field.Int("training_org_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.Time("starts_at").Annotations(entgql.OrderField("STARTS_AT")),
		field.Int("duration_minutes").Range(10, 600),
		field.Int("capacity").Positive(),
		field.Int("taken").Default(0).NonNegative().Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Bool("onsite").Default(true),
		field.Enum("status").Values("SCHEDULED", "OPEN", "CLOSED", "CANCELLED").Default("SCHEDULED").Annotations(entgql.Type("SessionStatus")),
	}
}

// Edges of ExamSession.
func (ExamSession) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("plan", ExamPlan.Type).Field("plan_id").Unique().Required().Immutable(),
		edge.To("subject", Subject.Type).Field("subject_id").Unique().Required(),
		edge.To("room", Room.Type).Field("room_id").Unique().Required(),
		edge.To("site", Organization.Type).Field("site_id").Unique().Required(),
		edge.From("enrollments", Enrollment.Type).Ref("session").Annotations(entgql.RelayConnection()),
	}
}

// Indexes of ExamSession.
func (ExamSession) Indexes() []ent.Index {
	return []ent.Index{index.Fields("plan_id", "subject_id"), index.Fields("room_id", "starts_at"), index.Fields("site_id", "starts_at")}
}

// Annotations of ExamSession.
func (ExamSession) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entsql.Checks(map[string]string{
			"session_seats_in_bounds":   "taken >= 0 AND taken <= capacity",
			"session_capacity_positive": "capacity > 0",
		}),
	}
}

// Policy of ExamSession: public; the plan's institution and admins edit;
// seats change only through the enrollment service (system context).
func (ExamSession) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{authz.AllowAnyone()},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			// Created empty and scheduled (defaults are part of the create);
			// edited only while the plan is a draft; taken and status are
			// never the institution's to set.
			createdAs("taken", "0", viewer.TrainingOrg),
			createdAs("status", "SCHEDULED", viewer.TrainingOrg),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.TrainingOrg}, Ops: ent.OpCreate,
				OwnerField: "training_org_id", OwnerValue: authz.Org,
				Fields: []string{"plan_id", "subject_id", "room_id", "site_id", "training_org_id", "starts_at", "duration_minutes", "capacity", "onsite", "taken", "status", "created_at", "updated_at"},
			}),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.TrainingOrg}, Ops: ent.OpUpdateOne,
				Owner: ownDraft(entql.HasEdgeWith("plan", entql.FieldEQ("status", "DRAFT"))), OwnerField: "training_org_id", OwnerValue: authz.Org,
				Fields: []string{"subject_id", "room_id", "site_id", "starts_at", "duration_minutes", "capacity", "onsite", "updated_at"},
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}

// ownDraft narrows an institution's updates to its own rows that are still
// drafts (draft: a predicate on the row or on its plan).
func ownDraft(draft entql.P) authz.Predicate {
	return func(v *viewer.Viewer) (entql.P, bool) {
		if v.OrgID == 0 {
			return nil, false
		}
		return entql.And(entql.FieldEQ("training_org_id", v.OrgID), draft), true
	}
}

// createdAs denies creates by the roles that set field to anything but want.
// Defaults are set before privacy runs, so an omitted field passes.
func createdAs(field, want string, roles ...viewer.Role) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		if !m.Op().Is(ent.OpCreate) || !viewer.FromContext(ctx).Is(roles...) {
			return privacy.Skip
		}
		if v, ok := m.Field(field); ok && fmt.Sprint(v) != want {
			return privacy.Denyf("authz: %s may only create %s with %s=%s", viewer.FromContext(ctx).Role, m.Type(), field, want)
		}
		return privacy.Skip
	})
}
