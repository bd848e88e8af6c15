package sign

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit statuses of Command.
const (
	ExitValid   = 0 // authentic, inside its validity (and the name matches, if given)
	ExitInvalid = 1 // malformed, unknown key, forged or altered, or the name does not match
	ExitUsage   = 2
	ExitExpired = 3 // authentic, but the validity printed in it has ended
)

// CommandUsage is the help of `kaowu verify-cert`.
const CommandUsage = `usage: kaowu verify-cert (--keys keys.json | --key kid=base64)... [--name NAME] CODE

Checks a certificate QR code offline: CODE is the QR content (the
<url>/verify/<payload> link or the bare payload; "-" reads it from stdin).
Keys are the server's published key set (--keys, a keys.json file) and/or
single public keys (--key kid=base64, repeatable). --name also checks the
holder's name against the name hash in the payload.

exit status: 0 authentic and within its validity, 1 malformed / unknown key /
forged or altered / name mismatch, 2 usage error, 3 authentic but expired.
The live status (changed, renewed, cancelled) needs the online page.
`

type keyFlags []string

func (k *keyFlags) String() string     { return strings.Join(*k, ",") }
func (k *keyFlags) Set(v string) error { *k = append(*k, v); return nil }

// Command runs `kaowu verify-cert` with args (after the subcommand) and
// returns its exit status. It reads nothing but its arguments, the keys
// file and stdin: it needs no database, configuration or network.
func Command(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("verify-cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, CommandUsage) }
	var keysFile, name string
	var keyArgs keyFlags
	fs.StringVar(&keysFile, "keys", "", "published key set (keys.json)")
	fs.Var(&keyArgs, "key", "public key kid=base64 (repeatable)")
	fs.StringVar(&name, "name", "", "holder name to check")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if fs.NArg() != 1 || (keysFile == "" && len(keyArgs) == 0) {
		fs.Usage()
		return ExitUsage
	}
	var keys []Key
	if keysFile != "" {
		data, err := os.ReadFile(keysFile)
		if err != nil {
			fmt.Fprintf(stderr, "cannot read keys file: %v\n", err)
			return ExitUsage
		}
		ring, err := ParsePublicKeys(data)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return ExitUsage
		}
		keys = append(keys, ring.keys...)
	}
	for _, a := range keyArgs {
		k, err := ParseKeyFlag(a)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return ExitUsage
		}
		keys = append(keys, k)
	}
	ring, err := NewKeyring(keys...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitUsage
	}
	code := fs.Arg(0)
	if code == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
		if err != nil {
			fmt.Fprintf(stderr, "cannot read stdin: %v\n", err)
			return ExitUsage
		}
		code = string(b)
	}
	c, err := VerifyOffline(code, ring)
	switch {
	case errors.Is(err, ErrMalformed):
		fmt.Fprintf(stdout, "INVALID: not a certificate code (%v)\n", err)
		return ExitInvalid
	case errors.Is(err, ErrUnknownKey):
		fmt.Fprintf(stdout, "INVALID: signed with key %q, which is not among the given keys (forged, or get the current keys.json)\n", c.KeyID)
		return ExitInvalid
	case errors.Is(err, ErrBadSignature):
		fmt.Fprintf(stdout, "INVALID: the signature does not match: the code was forged or altered (claims certificate %q)\n", c.Number)
		return ExitInvalid
	case err != nil:
		fmt.Fprintf(stdout, "INVALID: %v\n", err)
		return ExitInvalid
	}
	fmt.Fprintf(stdout, "certificate  %s\nsubject      %s\nvalid        %s to %s (last day)\nrevision     %d\nsigned by    key %q\n",
		c.Number, c.SubjectCode, c.ValidFromTime().Format("2006-01-02"),
		c.ValidUntilTime().AddDate(0, 0, -1).Format("2006-01-02"), c.Revision, c.KeyID)
	if name != "" && !c.MatchesName(name) {
		fmt.Fprintln(stdout, "INVALID: the signature is genuine, but the name given is not the holder's")
		return ExitInvalid
	}
	if !now.Before(c.ValidUntilTime()) {
		fmt.Fprintln(stdout, "EXPIRED: the signature is genuine, but the validity in this code has ended (it may have been renewed: check online)")
		return ExitExpired
	}
	msg := "VALID: the signature is genuine"
	if name != "" {
		msg += " and the name matches"
	}
	fmt.Fprintln(stdout, msg+" (live status — changed, renewed, cancelled — needs the online check)")
	return ExitValid
}
