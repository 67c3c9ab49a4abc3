package postgres

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/keel-go/keel/backup/internal/tool"
)

// secretParams are the libpq connection parameters that carry a secret.
// None of them reaches a tool's argv (/proc/<pid>/cmdline is readable by
// every local user) or its environment (/proc/<pid>/environ, readable by
// the same user): the password goes through a pgpass file, sslpassword
// through a service file, both 0600 in a private directory.
var secretParams = []string{"password", "sslpassword"}

// takeSecretParams moves the secret parameters out of c's query into d.
func (d *Driver) takeSecretParams(c *url.URL) error {
	q := c.Query()
	if pw := q.Get("password"); pw != "" {
		d.password = pw
	}
	d.sslPassword = q.Get("sslpassword")
	if d.sslPassword != "" && q.Has("service") {
		return errors.New("postgres: Config.DSN: sslpassword cannot be combined with service= (the driver hands sslpassword to the tools through a service file of its own)")
	}
	for _, p := range secretParams {
		q.Del(p)
	}
	c.RawQuery = q.Encode()
	if strings.ContainsAny(d.password, "\r\n") || strings.ContainsAny(d.sslPassword, "\r\n") {
		return errors.New("postgres: Config.DSN: a password with a line break cannot be handed to pg_dump")
	}
	// libpq trims the end of each service file line.
	if strings.TrimRight(d.sslPassword, " \t") != d.sslPassword {
		return errors.New("postgres: Config.DSN: an sslpassword that ends in white space cannot be handed to pg_dump")
	}
	return nil
}

// toolEnvAllowed lists the libpq variables of this process that the tools
// may see: settings and file paths, never secrets (PGPASSWORD is read by
// newSession and handed over in a file).
var toolEnvAllowed = map[string]bool{
	"PGUSER": true, "PGPASSFILE": true, "PGSERVICEFILE": true, "PGSYSCONFDIR": true, "PGAPPNAME": true,
	"PGCONNECT_TIMEOUT": true, "PGCLIENTENCODING": true, "PGTARGETSESSIONATTRS": true,
	"PGSSLMODE": true, "PGSSLROOTCERT": true, "PGSSLCERT": true, "PGSSLKEY": true, "PGSSLCRL": true,
	"PGSSLCRLDIR": true, "PGSSLCERTMODE": true, "PGSSLNEGOTIATION": true, "PGSSLSNI": true,
	"PGSSLMINPROTOCOLVERSION": true, "PGSSLMAXPROTOCOLVERSION": true, "PGREQUIREPEER": true,
	"PGGSSENCMODE": true, "PGKRBSRVNAME": true, "PGGSSLIB": true,
}

func allowToolEnv(name string) bool { return toolEnvAllowed[name] }

// serviceName names the section of the driver's own service file.
const serviceName = "keel"

// session is what one run of a tool needs: its environment, its
// connection argument, and the private directory holding its secrets.
type session struct {
	env     []string
	connArg string
	secrets *tool.SecretDir
}

// close removes the secret files; callers defer it, so they go also when
// the tool fails or the context is cancelled.
func (s *session) close() {
	if s.secrets != nil {
		_ = s.secrets.Remove()
	}
}

// newSession writes the password (from the DSN, or else this process's
// PGPASSWORD, which the tool no longer inherits) into a 0600 pgpass file
// and sslpassword into a 0600 service file, in a private directory; the
// tool finds them through PGPASSFILE and PGSERVICEFILE, which are paths.
// Without secrets the tool runs as it would by hand: ~/.pgpass and the
// allowed PG* settings still apply.
func (d *Driver) newSession(conn *url.URL) (*session, error) {
	password := d.password
	if password == "" {
		password = os.Getenv("PGPASSWORD")
		if strings.ContainsAny(password, "\r\n") {
			return nil, errors.New("postgres: PGPASSWORD holds a line break and cannot be handed to pg_dump")
		}
	}
	s := &session{}
	c := *conn
	var extra []string
	if password != "" || d.sslPassword != "" {
		dir, err := tool.NewSecretDir("keel-pg-")
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		s.secrets = dir
		if password != "" {
			p, err := dir.Write("pgpass", []byte("*:*:*:*:"+pgpassEscape(password)+"\n"))
			if err != nil {
				s.close()
				return nil, fmt.Errorf("postgres: %w", err)
			}
			extra = append(extra, "PGPASSFILE="+p)
		}
		if d.sslPassword != "" {
			p, err := dir.Write("pg_service.conf", []byte("["+serviceName+"]\nsslpassword="+d.sslPassword+"\n"))
			if err != nil {
				s.close()
				return nil, fmt.Errorf("postgres: %w", err)
			}
			extra = append(extra, "PGSERVICEFILE="+p)
			q := c.Query()
			q.Set("service", serviceName)
			c.RawQuery = q.Encode()
		}
	}
	s.env = tool.Env(allowToolEnv, extra...)
	s.connArg = "--dbname=" + c.String()
	return s, nil
}

// pgpassEscape escapes a password for a pgpass line, where ':' separates
// the fields and '\' escapes.
func pgpassEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}
