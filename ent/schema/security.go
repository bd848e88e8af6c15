package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
)

// systemOnly is the policy of security bookkeeping: only system code touches it.
func systemOnly() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{authz.AllowSystem(), privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{authz.AllowSystem(), privacy.AlwaysDenyRule()},
	}
}

// LoginThrottle counts failed logins per account ("acct:…") and per address ("ip:…").
type LoginThrottle struct{ ent.Schema }

// Fields of LoginThrottle.
func (LoginThrottle) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").NotEmpty().Validate(maxRunes(160)).Unique(),
		field.Int("failures").Default(0),
		field.Time("last_failure_at").Default(time.Now),
		field.Time("locked_until").Optional().Nillable(),
	}
}

// Annotations of LoginThrottle.
func (LoginThrottle) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of LoginThrottle.
func (LoginThrottle) Policy() ent.Policy { return systemOnly() }

// Captcha is an issued image captcha; kept in the database so that every
// replica can check it.
type Captcha struct{ ent.Schema }

// Fields of Captcha.
func (Captcha) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").NotEmpty().Validate(maxRunes(64)).Unique().Immutable(),
		field.String("answer_hash").Sensitive(),
		field.Time("expires_at"),
	}
}

// Indexes of Captcha.
func (Captcha) Indexes() []ent.Index { return []ent.Index{index.Fields("expires_at")} }

// Annotations of Captcha.
func (Captcha) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of Captcha.
func (Captcha) Policy() ent.Policy { return systemOnly() }

// VerificationCode is an SMS code for a second login step or a password reset.
type VerificationCode struct{ ent.Schema }

// Fields of VerificationCode.
func (VerificationCode) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("purpose").Values("LOGIN", "RESET_PASSWORD"),
		field.Int("user_id").Annotations(entgql.Type("ID")),
		// challenge_hash identifies a pending login (the client holds the token).
		field.Bytes("challenge_hash").Optional().Nillable().Sensitive().Unique(),
		field.String("code_hash").Sensitive(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("expires_at"),
		field.Int("attempts").Default(0),
		field.Time("consumed_at").Optional().Nillable(),
	}
}

// Indexes of VerificationCode.
func (VerificationCode) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "purpose", "created_at")}
}

// Annotations of VerificationCode.
func (VerificationCode) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of VerificationCode.
func (VerificationCode) Policy() ent.Policy { return systemOnly() }
