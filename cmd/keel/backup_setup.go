package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"filippo.io/age"
	gomysql "github.com/go-sql-driver/mysql"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/dir"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/mysql"
	"github.com/keel-go/keel/backup/postgres"
	"github.com/keel-go/keel/backup/s3"
	"github.com/keel-go/keel/backup/sqlite"
)

// The setup every backup command shares: the repository flags (or a
// -config file of them), the storage, the keys, the driver of the source or
// target, and a context that SIGINT or SIGTERM cancels. A command states
// what it adds in a backupSetup and gets a backupRun.

// Environment variables for secrets, which are never taken from flags.
const (
	envSource     = "KEEL_BACKUP_SOURCE"     // a source DSN that may carry a password
	envTarget     = "KEEL_BACKUP_TARGET"     // a restore target DSN that may carry a password
	envPassphrase = "KEEL_BACKUP_PASSPHRASE" // age passphrase
	envS3Key      = "AWS_ACCESS_KEY_ID"
	envS3Secret   = "AWS_SECRET_ACCESS_KEY"
)

// backupSetup is what one backup command adds to the shared setup.
type backupSetup struct {
	// name is the command's ("create"); its flag set is "keel backup create".
	name string
	// withSource opens the source driver too (-driver, -source): the
	// repository then backs it up.
	withSource bool
	// flags declares the command's own flags beside the shared ones.
	flags func(fs *flag.FlagSet)
	// check runs after parsing and before anything is opened, so that a
	// flag mistake is reported without touching storage.
	check func(c *backupConfig) error
}

// backupRun is a backup command's open repository, its settings, and a
// context that SIGINT or SIGTERM cancels. Close releases all three.
type backupRun struct {
	cfg    backupConfig
	fs     *flag.FlagSet
	repo   *backup.Repository
	ctx    context.Context
	cancel context.CancelFunc
}

// openBackup parses args as s's flags and the shared repository flags, runs
// s.check, and opens the repository (and, withSource, its source). Usage
// mistakes were printed and return errUsage; -h returns flag.ErrHelp.
func openBackup(s backupSetup, args []string, stderr io.Writer) (*backupRun, error) {
	r := &backupRun{fs: flag.NewFlagSet("keel backup "+s.name, flag.ContinueOnError)}
	r.fs.SetOutput(stderr)
	if s.flags != nil {
		s.flags(r.fs)
	}
	if err := parseBackupFlags(r.fs, &r.cfg, args); err != nil {
		return nil, err
	}
	if s.check != nil {
		if err := s.check(&r.cfg); err != nil {
			return nil, err
		}
	}
	cfg, err := r.cfg.repositoryConfig(stderr, s.withSource)
	if err != nil {
		return nil, err
	}
	if s.withSource {
		loc, fromArgv := r.cfg.source(r.fs)
		if cfg.Source, err = driverFor(r.cfg.Driver, loc, fromArgv, sourceRole); err != nil {
			return nil, err
		}
	}
	if r.repo, err = backup.New(cfg); err != nil {
		return nil, err
	}
	r.ctx, r.cancel = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return r, nil
}

// Close stops listening for signals and closes the repository.
func (r *backupRun) Close() {
	r.cancel()
	_ = r.repo.Close()
}

// sourceDriver is the driver of -source (or KEEL_BACKUP_SOURCE).
func (r *backupRun) sourceDriver() (driver, error) {
	loc, fromArgv := r.cfg.source(r.fs)
	return driverFor(r.cfg.Driver, loc, fromArgv, sourceRole)
}

// targetDriver is the driver of a restore's target: -target, else
// KEEL_BACKUP_TARGET, else the source.
func (r *backupRun) targetDriver(target string) (driver, error) {
	if target != "" {
		return driverFor(r.cfg.Driver, target, true, targetRole)
	}
	if env := os.Getenv(envTarget); env != "" {
		return driverFor(r.cfg.Driver, env, false, targetRole)
	}
	loc, fromArgv := r.cfg.source(r.fs)
	if loc == "" {
		return driverFor(r.cfg.Driver, "", false, targetRole) // says where a target can come from
	}
	return driverFor(r.cfg.Driver, loc, fromArgv, sourceRole)
}

// driver is what the CLI builds from -driver: every driver is both a source
// to back up and a target to restore into. A trial restore
// (backup.TrialTarget) is optional: callers ask for it with a checked
// assertion.
type driver interface {
	backup.Source
	backup.Target
}

// Each driver is a driver; the compiler checks it here.
var (
	_ driver = (*postgres.Driver)(nil)
	_ driver = (*mysql.Driver)(nil)
	_ driver = (*sqlite.Driver)(nil)
	_ driver = (*dir.Driver)(nil)
)

// locationRole names the flags and variable a location came from, for errors.
type locationRole struct{ flag, env string }

var (
	sourceRole = locationRole{"-source", envSource}
	targetRole = locationRole{"-target", envTarget}
)

// driverFor builds the -driver driver for a source or target location.
// fromArgv says the location came from a flag, where a password is refused
// (process arguments are visible to every user of the machine).
func driverFor(kind, loc string, fromArgv bool, role locationRole) (driver, error) {
	if kind == "" {
		return nil, errors.New("-driver is required (postgres, mysql, sqlite or dir)")
	}
	if loc == "" {
		if role == targetRole {
			return nil, fmt.Errorf("nothing to restore into: give -target (or set %s), or -source (or set %s) to restore into the source", envTarget, envSource)
		}
		return nil, fmt.Errorf("no source: give -source or set %s", envSource)
	}
	refuse := func(where string) error {
		return fmt.Errorf("refusing a password on the command line (%s): put the DSN in %s%s", role.flag, role.env, where)
	}
	switch kind {
	case "postgres":
		if u, err := url.Parse(loc); err == nil && fromArgv {
			if _, has := u.User.Password(); has || u.Query().Has("password") {
				return nil, refuse(", or use ~/.pgpass or PGPASSWORD")
			}
		}
		return built(postgres.New(postgres.Config{DSN: loc}))
	case "mysql":
		if c, err := gomysql.ParseDSN(loc); err == nil && fromArgv && c.Passwd != "" {
			return nil, refuse("")
		}
		return built(mysql.New(mysql.Config{DSN: loc}))
	case "sqlite":
		return built(sqlite.New(sqlite.Config{Path: loc}))
	case "dir":
		return built(dir.New(dir.Config{Path: loc}))
	}
	return nil, fmt.Errorf("-driver: unknown driver %q (want postgres, mysql, sqlite or dir)", kind)
}

// built returns d as a driver, and no typed nil in an interface on error.
func built[D driver](d D, err error) (driver, error) {
	if err != nil {
		return nil, err
	}
	return d, nil
}

// backupConfig is what every backup command needs, from flags or a JSON
// file (-config) whose keys are the flag names.
type backupConfig struct {
	Driver         string   `json:"driver"`
	Source         string   `json:"source"`
	Storage        string   `json:"storage"`
	S3Endpoint     string   `json:"s3-endpoint"`
	S3Region       string   `json:"s3-region"`
	S3Insecure     bool     `json:"s3-insecure"`
	Compression    string   `json:"compression"`
	Recipients     []string `json:"recipient"`
	PassphraseFile string   `json:"passphrase-file"`
	Identities     []string `json:"identity"`
	SigningKey     string   `json:"signing-key"`
	VerifyKeys     []string `json:"verify-key"`
	Unencrypted    bool     `json:"unencrypted"`
	Log            bool     `json:"log"`
	Witness        string   `json:"witness"`
	RepositoryID   string   `json:"repository-id"`
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (c *backupConfig) bind(fs *flag.FlagSet) *string {
	path := fs.String("config", "", "JSON file with these settings (keys are the flag names); flags override it")
	fs.StringVar(&c.Driver, "driver", "", "source driver: postgres, mysql, sqlite or dir")
	fs.StringVar(&c.Source, "source", "", "source DSN or path, without a password (or set "+envSource+")")
	fs.StringVar(&c.Storage, "storage", "", "a directory, or s3://bucket/prefix")
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", "", "S3 endpoint host:port (credentials from "+envS3Key+" and "+envS3Secret+")")
	fs.StringVar(&c.S3Region, "s3-region", "", "S3 region (default us-east-1)")
	fs.BoolVar(&c.S3Insecure, "s3-insecure", false, "plain HTTP to the S3 endpoint")
	fs.StringVar(&c.Compression, "compression", "", "zstd (default), gzip or none")
	fs.Var((*listFlag)(&c.Recipients), "recipient", "age recipient (age1…) to encrypt to; repeatable")
	fs.StringVar(&c.PassphraseFile, "passphrase-file", "", "file holding an age passphrase (or set "+envPassphrase+")")
	fs.Var((*listFlag)(&c.Identities), "identity", "age identity file for decryption; repeatable")
	fs.StringVar(&c.SigningKey, "signing-key", "", "Ed25519 private key (PEM) that signs manifests")
	fs.Var((*listFlag)(&c.VerifyKeys), "verify-key", "Ed25519 public key (PEM) trusted for manifests; repeatable")
	fs.BoolVar(&c.Unencrypted, "unencrypted", false, "create backups without encryption")
	fs.BoolVar(&c.Log, "log", false, "log each operation to stderr")
	fs.StringVar(&c.Witness, "witness", "", "file (not beside the backups) remembering the newest index seen, so that an index rolled back is reported")
	fs.StringVar(&c.RepositoryID, "repository-id", "", "the repository's expected id; with init, recreates a lost identity object with it")
	return path
}

// parseBackupFlags parses args, then fills what flags left unset from -config.
func parseBackupFlags(fs *flag.FlagSet, c *backupConfig, args []string) error {
	cfgPath := c.bind(fs)
	if err := parseArgs(fs, args, fs.Output()); err != nil {
		return err
	}
	if *cfgPath == "" {
		return nil
	}
	data, err := os.ReadFile(*cfgPath)
	if err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	var file backupConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("-config %s: %w", *cfgPath, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	merge := func(name string, dst *string, v string) {
		if !set[name] {
			*dst = v
		}
	}
	merge("driver", &c.Driver, file.Driver)
	merge("source", &c.Source, file.Source)
	merge("storage", &c.Storage, file.Storage)
	merge("s3-endpoint", &c.S3Endpoint, file.S3Endpoint)
	merge("s3-region", &c.S3Region, file.S3Region)
	merge("compression", &c.Compression, file.Compression)
	merge("passphrase-file", &c.PassphraseFile, file.PassphraseFile)
	merge("signing-key", &c.SigningKey, file.SigningKey)
	merge("witness", &c.Witness, file.Witness)
	merge("repository-id", &c.RepositoryID, file.RepositoryID)
	if !set["recipient"] {
		c.Recipients = file.Recipients
	}
	if !set["identity"] {
		c.Identities = file.Identities
	}
	if !set["verify-key"] {
		c.VerifyKeys = file.VerifyKeys
	}
	c.S3Insecure = c.S3Insecure || file.S3Insecure
	c.Unencrypted = c.Unencrypted || file.Unencrypted
	c.Log = c.Log || file.Log
	return nil
}

// source is -source, or KEEL_BACKUP_SOURCE; fromArgv says it was given
// on the command line (not in -config or the environment).
func (c *backupConfig) source(fs *flag.FlagSet) (loc string, fromArgv bool) {
	fs.Visit(func(f *flag.Flag) { fromArgv = fromArgv || f.Name == "source" })
	if c.Source == "" {
		return os.Getenv(envSource), false
	}
	return c.Source, fromArgv
}

func (c *backupConfig) storage() (backup.Storage, error) {
	if c.Storage == "" {
		return nil, errors.New("-storage is required (a directory, or s3://bucket/prefix)")
	}
	if rest, ok := strings.CutPrefix(c.Storage, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if c.S3Endpoint == "" {
			return nil, errors.New("-s3-endpoint is required for s3:// storage")
		}
		return s3.New(s3.Config{Endpoint: c.S3Endpoint, Bucket: bucket, Prefix: prefix, Region: c.S3Region,
			AccessKeyID: os.Getenv(envS3Key), SecretAccessKey: os.Getenv(envS3Secret), Insecure: c.S3Insecure})
	}
	st, err := local.New(c.Storage)
	if err != nil {
		return nil, fmt.Errorf("-storage: %w", err)
	}
	return st, nil
}

func (c *backupConfig) passphrase() (string, error) {
	if c.PassphraseFile != "" {
		b, err := os.ReadFile(c.PassphraseFile)
		if err != nil {
			return "", fmt.Errorf("-passphrase-file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return os.Getenv(envPassphrase), nil
}

// repositoryConfig reads the keys the flags name into a backup.Config.
// encrypting says backups are created, so a passphrase also encrypts.
func (c *backupConfig) repositoryConfig(stderr io.Writer, encrypting bool) (backup.Config, error) {
	st, err := c.storage()
	if err != nil {
		return backup.Config{}, err
	}
	cfg := backup.Config{Storage: st, Compression: backup.Compression(c.Compression), Unencrypted: c.Unencrypted,
		RepositoryID: c.RepositoryID}
	if c.Witness != "" {
		cfg.Witness = backup.FileWitness{Path: c.Witness}
	}
	if c.Log {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if c.SigningKey != "" {
		b, err := os.ReadFile(c.SigningKey)
		if err != nil {
			return backup.Config{}, fmt.Errorf("-signing-key: %w", err)
		}
		if cfg.SigningKey, err = backup.ParseSigningKey(b); err != nil {
			return backup.Config{}, fmt.Errorf("-signing-key %s: %w", c.SigningKey, err)
		}
	}
	for _, p := range c.VerifyKeys {
		b, err := os.ReadFile(p)
		if err != nil {
			return backup.Config{}, fmt.Errorf("-verify-key: %w", err)
		}
		k, err := backup.ParsePublicKey(b)
		if err != nil {
			return backup.Config{}, fmt.Errorf("-verify-key %s: %w", p, err)
		}
		cfg.VerifyKeys = append(cfg.VerifyKeys, ed25519.PublicKey(k))
	}
	for _, r := range c.Recipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return backup.Config{}, fmt.Errorf("-recipient: %w", err)
		}
		cfg.Recipients = append(cfg.Recipients, rc)
	}
	for _, p := range c.Identities {
		f, err := os.Open(p)
		if err != nil {
			return backup.Config{}, fmt.Errorf("-identity: %w", err)
		}
		ids, err := age.ParseIdentities(f)
		_ = f.Close()
		if err != nil {
			return backup.Config{}, fmt.Errorf("-identity %s: %w", p, err)
		}
		cfg.Identities = append(cfg.Identities, ids...)
	}
	pass, err := c.passphrase()
	if err != nil {
		return backup.Config{}, err
	}
	if pass != "" {
		if encrypting && len(cfg.Recipients) == 0 {
			r, err := age.NewScryptRecipient(pass)
			if err != nil {
				return backup.Config{}, err
			}
			cfg.Recipients = []age.Recipient{r}
		}
		id, err := age.NewScryptIdentity(pass)
		if err != nil {
			return backup.Config{}, err
		}
		cfg.Identities = append(cfg.Identities, id)
	}
	return cfg, nil
}
