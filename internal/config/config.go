// Package config reads the configuration from the environment, with defaults
// for the embedded mode: SQLite under ./data, local-disk blobs, in-process bus.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Config is the whole configuration. See README.md for the variables.
type Config struct {
	Env            string // "development" or "production"
	Addr           string
	DataDir        string
	DatabaseURL    string // empty: SQLite file in DataDir
	S3             S3
	Secret         []byte // HMAC key for signed URLs and tokens
	AllowedOrigins []string
	SessionIdle    time.Duration
	SessionMax     time.Duration
	LoginSMS       bool   // require an SMS code after the password
	Argon2         string // "default" or "fast" (tests and demos only)
	Demo           bool
	LogLevel       string
	LogFormat      string // "text" or "json"
	PublicURL      string // base URL for links (QR codes, signed URLs); default http://<Addr>
	DBMaxConns     int
	// Uploads: images over MaxImageBytes are downscaled and re-encoded, PDFs
	// over MaxPDFBytes refused, nothing over MaxUploadBytes read.
	MaxUploadBytes int64
	MaxImageBytes  int64
	MaxPDFBytes    int64
	// PaymentGateway: "sim" (simulated, development) or "none" (online
	// payment off; bank transfer and on-site payment remain).
	PaymentGateway string
	// Certificates (docs/certificates.md). CertKeys is KAOWU_CERT_KEYS as
	// given: "kid:base64seed" signing keys (the first is active) and
	// "kid:pub:base64key" verify-only keys; parsed by
	// internal/certificate/sign.LoadKeyring, which derives a development key
	// from Secret when it is empty outside production.
	CertKeys          string
	CertValidityYears int    // validity of a new certificate and of a renewal
	CertAuthority     string // issuing authority printed on certificates
	CertPrefix        string // certificate number prefix, [A-Z0-9]{1,8}
}

// S3 configures MinIO; Endpoint empty means local-disk storage.
type S3 struct {
	Endpoint, AccessKey, SecretKey, Bucket, Region string
	UseSSL                                         bool
}

// Production reports whether the server runs in production mode.
func (c *Config) Production() bool { return c.Env == "production" }

// Load reads the environment.
func Load() (*Config, error) {
	c := &Config{
		Env:         get("KAOWU_ENV", "development"),
		Addr:        get("KAOWU_ADDR", "127.0.0.1:8080"),
		DataDir:     get("KAOWU_DATA_DIR", "./data"),
		DatabaseURL: os.Getenv("DATABASE_URL"),
		S3: S3{
			Endpoint:  os.Getenv("S3_ENDPOINT"),
			AccessKey: os.Getenv("S3_ACCESS_KEY"),
			SecretKey: os.Getenv("S3_SECRET_KEY"),
			Bucket:    get("S3_BUCKET", "kaowu"),
			Region:    os.Getenv("S3_REGION"),
		},
		LogLevel:  get("KAOWU_LOG_LEVEL", "info"),
		LogFormat: get("KAOWU_LOG_FORMAT", "text"),
		Argon2:    get("KAOWU_ARGON2", "default"),
		PublicURL: os.Getenv("KAOWU_PUBLIC_URL"),
	}
	var errs []error
	c.S3.UseSSL = getBool("S3_USE_SSL", false, &errs)
	c.LoginSMS = getBool("KAOWU_LOGIN_SMS", false, &errs)
	c.Demo = getBool("DEMO", false, &errs)
	c.SessionIdle = getDuration("KAOWU_SESSION_IDLE", 30*time.Minute, &errs)
	c.SessionMax = getDuration("KAOWU_SESSION_MAX", 12*time.Hour, &errs)
	c.DBMaxConns = getInt("KAOWU_DB_MAX_CONNS", 20, &errs)
	c.MaxUploadBytes = int64(getInt("KAOWU_MAX_UPLOAD_KB", 20*1024, &errs)) << 10
	c.MaxImageBytes = int64(getInt("KAOWU_MAX_IMAGE_KB", 1024, &errs)) << 10
	c.MaxPDFBytes = int64(getInt("KAOWU_MAX_PDF_KB", 5*1024, &errs)) << 10
	def := "sim"
	if c.Env == "production" {
		def = "none"
	}
	c.PaymentGateway = get("KAOWU_PAYMENT_GATEWAY", def)
	if c.PaymentGateway != "sim" && c.PaymentGateway != "none" {
		errs = append(errs, fmt.Errorf("KAOWU_PAYMENT_GATEWAY must be sim or none, not %q", c.PaymentGateway))
	}
	c.CertKeys = os.Getenv("KAOWU_CERT_KEYS")
	c.CertValidityYears = getInt("KAOWU_CERT_VALIDITY_YEARS", 3, &errs)
	if c.CertValidityYears < 1 || c.CertValidityYears > 10 {
		errs = append(errs, fmt.Errorf("KAOWU_CERT_VALIDITY_YEARS must be 1 to 10, not %d", c.CertValidityYears))
	}
	c.CertAuthority = strings.TrimSpace(get("KAOWU_CERT_AUTHORITY", "安全生产考试考核管理中心"))
	if n := utf8.RuneCountInString(c.CertAuthority); n == 0 || n > 128 {
		errs = append(errs, errors.New("KAOWU_CERT_AUTHORITY must be 1 to 128 characters"))
	}
	c.CertPrefix = get("KAOWU_CERT_PREFIX", "KW")
	if !certPrefix.MatchString(c.CertPrefix) {
		errs = append(errs, fmt.Errorf("KAOWU_CERT_PREFIX must be 1 to 8 capital letters or digits, not %q", c.CertPrefix))
	}
	if v := os.Getenv("KAOWU_ALLOWED_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
		}
	}
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, fmt.Errorf("KAOWU_ENV must be development or production, not %q", c.Env))
	}
	if c.Argon2 != "default" && c.Argon2 != "fast" {
		errs = append(errs, fmt.Errorf("KAOWU_ARGON2 must be default or fast, not %q", c.Argon2))
	}
	if c.Production() && c.Argon2 == "fast" {
		errs = append(errs, errors.New("KAOWU_ARGON2=fast is not allowed in production"))
	}
	if c.S3.Endpoint != "" && (c.S3.AccessKey == "" || c.S3.SecretKey == "") {
		errs = append(errs, errors.New("S3_ENDPOINT is set: S3_ACCESS_KEY and S3_SECRET_KEY are required"))
	}
	if s := os.Getenv("KAOWU_SECRET"); s != "" {
		if len(s) < 32 {
			errs = append(errs, errors.New("KAOWU_SECRET must be at least 32 characters"))
		}
		c.Secret = []byte(s)
	} else if c.Production() {
		errs = append(errs, errors.New("KAOWU_SECRET is required in production"))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// certPrefix is what a certificate number starts with (ASCII: it is in
// the QR payload and typed into lookups).
var certPrefix = regexp.MustCompile(`^[A-Z0-9]{1,8}$`)

// SQLitePath is the embedded database file.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "kaowu.db") }

// BlobDir is the local-disk blob store directory.
func (c *Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// EnsureSecret loads or creates a random secret in the data directory when
// none was configured (development only: replicas must share KAOWU_SECRET).
func (c *Config) EnsureSecret() error {
	if len(c.Secret) > 0 {
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return err
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		c.Secret = b
		return nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	s := []byte(hex.EncodeToString(b))
	if err := os.WriteFile(path, s, 0o600); err != nil {
		return err
	}
	c.Secret = s
	return nil
}

func get(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func getBool(k string, def bool, errs *[]error) bool {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a boolean", k, v))
	}
	return b
}

func getInt(k string, def int, errs *[]error) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a number", k, v))
	}
	return n
}

func getDuration(k string, def time.Duration, errs *[]error) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a positive duration (e.g. 30m)", k, v))
	}
	return d
}
