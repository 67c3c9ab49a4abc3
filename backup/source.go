package backup

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// SourceIdentity says which database a backup is of, without credentials:
// the driver, the server's host and port, and the database's name — or,
// for a file or directory source, its canonical absolute path in Database
// and no host. Restore compares the identity in a backup's manifest with
// the target's and refuses a mismatch unless
// RestoreOptions.AllowOtherSource: a backup of another database must not
// quietly replace this one's data.
//
// Identities are compared field by field, exactly: the same server named
// "localhost" in one DSN and "127.0.0.1" in another differs.
type SourceIdentity struct {
	Driver string `json:"driver"`
	// Host is the server's host name in lowercase, or a Unix socket path;
	// empty for file sources.
	Host string `json:"host,omitempty"`
	// Port is the server's TCP port (the driver's default when the DSN
	// has none); 0 for sockets and file sources.
	Port int `json:"port,omitempty"`
	// Database is the database name, or a file source's path.
	Database string `json:"database"`
}

// SourceIdentifier is implemented by Sources and Targets that can name
// the database they dump or restore into. Every Keel driver does; for
// others, IdentityOf falls back to the driver and Name.
type SourceIdentifier interface {
	SourceIdentity() SourceIdentity
}

// Limits of a source identity's fields.
const (
	maxHostLen     = 255
	maxDatabaseLen = 1024
)

// IdentityOf returns d's source identity: d.SourceIdentity() if d is a
// SourceIdentifier, else the driver with d.Name() as the database.
func IdentityOf(d interface {
	Driver() string
	Name() string
}) SourceIdentity {
	if si, ok := d.(SourceIdentifier); ok {
		return si.SourceIdentity()
	}
	return SourceIdentity{Driver: d.Driver(), Database: d.Name()}
}

// FileSourceIdentity is the identity of a file or directory source: the
// absolute path with symbolic links resolved as far as the path exists
// (a restore target may not exist yet), so that two spellings of one file
// compare equal.
func FileSourceIdentity(driver, path string) SourceIdentity {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	return SourceIdentity{Driver: driver, Database: resolveExisting(abs)}
}

// resolveExisting resolves the symbolic links of the longest existing
// prefix of the absolute path p and appends the rest.
func resolveExisting(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir, base := filepath.Split(p)
	dir = filepath.Clean(dir)
	if dir == p || base == "" {
		return p
	}
	return filepath.Join(resolveExisting(dir), base)
}

// String formats the identity as driver://host:port/database, or
// driver://path for a file source (or the database as it is when it
// already starts with driver://, as IdentityOf's fallback from a Name
// does).
func (s SourceIdentity) String() string {
	if s.Host == "" && s.Port == 0 {
		if strings.HasPrefix(s.Database, s.Driver+"://") {
			return s.Database
		}
		return s.Driver + "://" + s.Database
	}
	h := s.Host
	if s.Port != 0 {
		h += ":" + strconv.Itoa(s.Port)
	}
	return s.Driver + "://" + h + "/" + s.Database
}

// validate checks the identity of a manifest; field names are prefixed
// with "source_identity.".
func (s SourceIdentity) validate() error {
	bad := func(field, reason string) error {
		return &MalformedError{Field: "source_identity." + field, Reason: reason}
	}
	switch {
	case !driverName.MatchString(s.Driver):
		return bad("driver", fmt.Sprintf("%q is not a driver name", s.Driver))
	case len(s.Host) > maxHostLen || !printable(s.Host):
		return bad("host", fmt.Sprintf("must be at most %d printable bytes", maxHostLen))
	case s.Port < 0 || s.Port > 65535:
		return bad("port", fmt.Sprintf("%d is not a TCP port", s.Port))
	case s.Database == "" || len(s.Database) > maxDatabaseLen || !printable(s.Database):
		return bad("database", fmt.Sprintf("must be 1 to %d printable bytes", maxDatabaseLen))
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters:
// an identity is shown to operators before a restore, and a newline or an
// escape sequence in it could forge the lines around it.
func printable(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
