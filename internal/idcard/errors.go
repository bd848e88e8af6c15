package idcard

// Reason is a machine-readable cause of a validation failure, stable enough to
// be used in API error codes and tests.
type Reason string

// Validation failure reasons.
const (
	ReasonEmpty      Reason = "EMPTY"
	ReasonLength     Reason = "LENGTH"
	ReasonFormat     Reason = "FORMAT"
	ReasonArea       Reason = "AREA_CODE"
	ReasonBirthDate  Reason = "BIRTH_DATE"
	ReasonCheckDigit Reason = "CHECK_DIGIT"
	ReasonDocType    Reason = "DOC_TYPE"
)

// Error is returned by every validator in this package. Message is written
// for the end user (Chinese); Reason is for programs.
type Error struct {
	Reason  Reason
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches on Reason only, so errors.Is(err, idcard.ErrCheckDigit) works
// whatever document type produced the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

// Sentinels for errors.Is; their messages are the resident-ID wording.
var (
	ErrEmpty      = &Error{ReasonEmpty, "请输入证件号码"}
	ErrLength     = &Error{ReasonLength, "身份证号码应为18位"}
	ErrFormat     = &Error{ReasonFormat, "身份证号码格式不正确"}
	ErrArea       = &Error{ReasonArea, "身份证号码中的地区代码无效"}
	ErrBirthDate  = &Error{ReasonBirthDate, "身份证号码中的出生日期无效"}
	ErrCheckDigit = &Error{ReasonCheckDigit, "身份证号码校验位不正确"}
	ErrDocType    = &Error{ReasonDocType, "不支持的证件类型"}
)

func newErr(r Reason, msg string) *Error { return &Error{Reason: r, Message: msg} }

// clone hands out a copy so callers cannot mutate the shared sentinels.
func clone(e *Error) *Error { c := *e; return &c }
