package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Certificate (证书) is issued for a passed FORMAL attempt (DOMAIN.md step
// 15). Holder, subject, employer, region and authority are copied onto the
// row when it is issued, so later profile or catalogue edits never change a
// certificate; only approved requests do, and each bumps revision (a signed
// QR payload carries the revision it was made at). Changes go through
// internal/certificate.
type Certificate struct{ ent.Schema }

// Mixin of Certificate.
func (Certificate) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Certificate.
func (Certificate) Fields() []ent.Field {
	skip := entgql.Skip(entgql.SkipAll)
	return []ent.Field{
		// number: <prefix>-<category>-<year>-<6-digit sequence>, see docs/certificates.md.
		field.String("number").NotEmpty().Validate(maxRunes(32)).Unique().Immutable().
			Annotations(entgql.OrderField("NUMBER")),
		field.Int("revision").Default(1).Positive(),
		field.Enum("status").Values("VALID", "EXPIRED", "CANCELLED").Default("VALID").
			Annotations(entgql.Type("CertificateStatus"), entgql.OrderField("STATUS")),
		field.Int("holder_id").Immutable().Annotations(entgql.Type("ID")),
		field.String("holder_name").NotEmpty().Validate(maxRunes(128)).Immutable(),
		field.String("holder_id_type").Optional().Validate(maxRunes(32)).Immutable(),
		// The full number stays out of GraphQL; holder_id_masked is what is shown.
		field.String("holder_id_number").Validate(maxRunes(32)).Sensitive().Immutable().Annotations(skip),
		field.String("holder_id_masked").Validate(maxRunes(32)).Immutable(),
		field.Int("attempt_id").Unique().Immutable().Annotations(entgql.Type("ID")),
		field.Int("enrollment_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("subject_id").Immutable().Annotations(entgql.Type("ID")),
		field.String("subject_code").NotEmpty().Validate(maxRunes(32)).Immutable(),
		field.String("subject_name").NotEmpty().Validate(maxRunes(128)).Immutable(),
		field.String("category").Validate(maxRunes(8)).Immutable(),
		field.String("employer").Optional().Validate(maxRunes(128)),
		field.String("region_code").Optional().Validate(maxRunes(12)),
		field.String("region_name").Optional().Validate(maxRunes(64)),
		// site_id is the exam site that issued it: it reviews the requests
		// and records fee and collection.
		field.Int("site_id").Immutable().Annotations(entgql.Type("ID")),
		field.String("site_name").Validate(maxRunes(128)).Immutable(),
		field.String("authority").NotEmpty().Validate(maxRunes(128)).Immutable(),
		field.Int("issued_by_id").Immutable().Annotations(entgql.Type("ID")),
		field.Time("issued_at").Immutable().Annotations(entgql.OrderField("ISSUED_AT")),
		// Validity is [valid_from, valid_until): both at 00:00 China time.
		field.Time("valid_from").Immutable(),
		field.Time("valid_until").Annotations(entgql.OrderField("VALID_UNTIL")),
		field.Time("changed_at").Optional().Nillable(),
		field.Time("renewed_at").Optional().Nillable(),
		field.Time("expired_at").Optional().Nillable(),
		field.Time("cancelled_at").Optional().Nillable(),
		// reminder_day is valid_until (days since 1970-01-01, China time) of
		// the validity period whose expiry reminder was sent: once per period.
		field.Int("reminder_day").Optional().Nillable().Annotations(skip),
		// Certificate fee (制证缴费) and collection (证书发放登记), recorded by the site.
		field.Int("fee_cents").Optional().Nillable().NonNegative(),
		field.Enum("fee_method").Values("CASH", "CARD", "WECHAT", "ALIPAY", "BANK_TRANSFER").Optional().Nillable().
			Annotations(entgql.Type("CertificateFeeMethod")),
		field.Time("fee_paid_at").Optional().Nillable(),
		field.Int("fee_recorded_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.String("collected_by").Optional().Validate(maxRunes(64)).Comment("收件人"),
		field.Time("collected_at").Optional().Nillable(),
		field.Int("collection_recorded_by_id").Optional().Nillable().Annotations(entgql.Type("ID")),
	}
}

// Edges of Certificate.
func (Certificate) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("requests", CertificateRequest.Type).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of Certificate.
func (Certificate) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("holder_id"),
		index.Fields("site_id", "status"),
		index.Fields("status", "valid_until"), // the expiry job
	}
}

// Annotations of Certificate.
func (Certificate) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Certificate: holders read theirs, the issuing site its own,
// ADMIN all; public lookups go through the service as the system. Written
// only by the certificate service.
func (Certificate) Policy() ent.Policy { return holderSitePolicy() }

// holderSitePolicy: the holder reads their rows, the issuing site its own,
// ADMIN all; only the certificate service (system context) writes, and
// nothing is deleted. Shared by certificates and their requests.
func holderSitePolicy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowRoles(viewer.Admin),
			authz.FilterQuery(authz.Column("site_id", authz.Org), viewer.ExamSite),
			authz.FilterQuery(authz.Column("holder_id", authz.Self), viewer.Candidate),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.DenyOps(ent.OpDelete | ent.OpDeleteOne),
			authz.AllowSystem(),
			privacy.AlwaysDenyRule(),
		},
	}
}

// CertificateRequest is a holder's request on a certificate: change of
// employer/region (变更), renewal (延续) or cancellation (注销), reviewed by
// the issuing site and withdrawable while pending.
type CertificateRequest struct{ ent.Schema }

// Mixin of CertificateRequest.
func (CertificateRequest) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of CertificateRequest.
func (CertificateRequest) Fields() []ent.Field {
	return []ent.Field{
		field.Int("certificate_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("holder_id").Immutable().Annotations(entgql.Type("ID")),
		field.Int("site_id").Immutable().Annotations(entgql.Type("ID")),
		field.Enum("kind").Values("CHANGE", "RENEWAL", "CANCELLATION").Immutable().
			Annotations(entgql.Type("CertificateRequestKind")),
		field.Enum("status").Values("PENDING", "APPROVED", "REJECTED", "WITHDRAWN").Default("PENDING").
			Annotations(entgql.Type("CertificateRequestStatus"), entgql.OrderField("STATUS")),
		// CHANGE: what the holder asks for, and what it replaces.
		field.String("new_region_code").Optional().Validate(maxRunes(12)).Immutable(),
		field.String("new_region_name").Optional().Validate(maxRunes(64)).Immutable(),
		field.String("new_employer").Optional().Validate(maxRunes(128)).Immutable(),
		field.Bool("left_job").Optional().Nillable().Immutable(),
		// The holder's own attachments (uploaded through the profile service)
		// proving the change; the service shows them to the reviewing site,
		// which Attachment's own policy would not.
		field.Ints("attachment_ids").Optional().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("old_region_name").Optional().Validate(maxRunes(64)).Immutable(),
		field.String("old_employer").Optional().Validate(maxRunes(128)).Immutable(),
		// RENEWAL: the validity end before and (once approved) after.
		field.Time("old_valid_until").Optional().Nillable().Immutable(),
		field.Time("new_valid_until").Optional().Nillable(),
		// CANCELLATION: the holder's voluntary statement (个人自愿说明).
		field.Text("statement").Optional().Validate(maxRunes(1000)).Immutable(),
		field.Time("submitted_at").Immutable().Annotations(entgql.OrderField("SUBMITTED_AT")),
		field.Time("reviewed_at").Optional().Nillable(),
		field.Int("reviewer_id").Optional().Nillable().Annotations(entgql.Type("ID")),
		field.String("review_reason").Optional().Validate(maxRunes(500)),
		field.Time("withdrawn_at").Optional().Nillable(),
	}
}

// Edges of CertificateRequest.
func (CertificateRequest) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("certificate", Certificate.Type).Ref("requests").Field("certificate_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of CertificateRequest: at most one PENDING request per
// certificate, whatever the concurrency (partial unique index).
func (CertificateRequest) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("certificate_id").Unique().Annotations(entsql.IndexWhere("status = 'PENDING'")),
		index.Fields("site_id", "status"),
		index.Fields("holder_id"),
	}
}

// Annotations of CertificateRequest.
func (CertificateRequest) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of CertificateRequest: as its certificate.
func (CertificateRequest) Policy() ent.Policy { return holderSitePolicy() }

// CertificateCounter allocates certificate sequence numbers per (prefix,
// year): one upsert increments the row, which stays locked until the
// issuing transaction ends, so concurrent issuers never share a number.
type CertificateCounter struct{ ent.Schema }

// Fields of CertificateCounter.
func (CertificateCounter) Fields() []ent.Field {
	return []ent.Field{
		field.String("prefix").NotEmpty().Validate(maxRunes(16)).Immutable(),
		field.Int("year").Immutable(),
		field.Int("seq").NonNegative(),
	}
}

// Indexes of CertificateCounter.
func (CertificateCounter) Indexes() []ent.Index {
	return []ent.Index{index.Fields("prefix", "year").Unique()}
}

// Annotations of CertificateCounter.
func (CertificateCounter) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of CertificateCounter.
func (CertificateCounter) Policy() ent.Policy { return systemOnly() }
