package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Profile is a candidate's exam profile (DOMAIN.md step 2–3). Sex and birth
// date are derived from a resident ID number; completeness is computed.
type Profile struct{ ent.Schema }

// Mixin of Profile.
func (Profile) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Profile.
func (Profile) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Unique().Immutable().Annotations(entgql.Type("ID")),
		field.Enum("candidate_type").Values("SOCIAL", "NON_SOCIAL").Optional().Nillable().Annotations(entgql.Type("CandidateType")),
		// category: chosen by social candidates; follows training for non-social ones.
		field.Enum("category").GoType(schematype.ExamCategory("")).Optional().Nillable().Annotations(entgql.Type("ExamCategory")),
		field.Enum("sex").Values("MALE", "FEMALE").Optional().Nillable().Annotations(entgql.Type("Sex")),
		field.Time("birth_date").Optional().Nillable(),
		field.String("company_name").Optional().Validate(maxRunes(128)),
		field.Int("company_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.Int("years_in_trade").Optional().Nillable().Range(0, 70),
		field.Enum("education").Values("JUNIOR_HIGH", "SENIOR_HIGH", "SECONDARY_VOCATIONAL", "JUNIOR_COLLEGE", "BACHELOR", "MASTER", "DOCTOR").
			Optional().Nillable().Annotations(entgql.Type("Education")),
		field.String("ethnicity").Optional().Validate(maxRunes(16)),
		field.String("address").Optional().Validate(maxRunes(256)),
		field.String("title").Optional().Validate(maxRunes(64)).Comment("专业技术职务"),
		field.String("post_code").Optional().Validate(maxRunes(6)),
	}
}

// Edges of Profile.
func (Profile) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("profile").Field("user_id").Unique().Required().Immutable(),
		edge.To("company", Organization.Type).Field("company_id").Unique(),
	}
}

// Indexes of Profile. The unique index is what makes user_id one profile per
// account: ent does not turn Unique() on an edge's foreign-key field into a
// constraint, so two racing first saves would otherwise both insert.
func (Profile) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id").Unique(), index.Fields("company_id")}
}

// Annotations of Profile.
func (Profile) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Profile: the candidate keeps their own; reviewers and admins read
// all; a company reads its staff's.
func (Profile) Policy() ent.Policy {
	own := authz.Column("user_id", authz.Self)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(authz.Column("company_id", authz.Org), viewer.Company),
			authz.FilterQuery(own),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.AllowOwn(authz.MutationSpec{
				Roles: []viewer.Role{viewer.Candidate}, Ops: ent.OpCreate | ent.OpUpdateOne,
				Owner: own, OwnerField: "user_id", OwnerValue: authz.Self,
			}),
			privacy.AlwaysDenyRule(),
		},
	}
}

// Attachment is an uploaded file (image or PDF) kept in the blob store.
type Attachment struct{ ent.Schema }

// Fields of Attachment.
func (Attachment) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Immutable().Annotations(entgql.Type("ID")),
		field.Enum("kind").Values(
			"ID_PHOTO", "ID_CARD_FRONT", "ID_CARD_BACK", "EDUCATION_CERT", "COMMITMENT_LETTER", "STUDY_PROOF",
			"PAYMENT_PROOF", "CHECKIN_READER_PHOTO", "CHECKIN_LIVE_PHOTO", "OTHER",
		).Immutable().Annotations(entgql.Type("AttachmentKind")),
		field.String("blob_key").Unique().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("content_type").Immutable(),
		field.Int64("size").Immutable(),
		field.String("sha256").Immutable(),
		field.String("file_name").Optional().Validate(maxRunes(255)).Immutable(),
		field.Int("width").Optional().Nillable().Immutable(),
		field.Int("height").Optional().Nillable().Immutable(),
		field.Int("uploaded_by_id").Optional().Nillable().Immutable().Annotations(entgql.Type("ID")),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Edges of Attachment.
func (Attachment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of Attachment: the current file of a kind is the newest one of its
// owner, and completeness checks look attachments up by owner and kind.
func (Attachment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "kind", "created_at")}
}

// Annotations of Attachment.
func (Attachment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Policy of Attachment: owners upload and read their own; reviewers and
// admins read all. Files are immutable: a new upload replaces by recency.
func (Attachment) Policy() ent.Policy {
	own := authz.Column("owner_id", authz.Self)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin, viewer.Reviewer),
			authz.FilterQuery(own),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowOwn(authz.MutationSpec{Roles: viewer.AllRoles, Ops: ent.OpCreate, OwnerField: "owner_id", OwnerValue: authz.Self}),
			privacy.AlwaysDenyRule(),
		},
	}
}
