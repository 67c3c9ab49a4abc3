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
	"text/tabwriter"
	"time"

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

// Environment variables for secrets, which are never taken from flags.
const (
	envSource     = "KEEL_BACKUP_SOURCE"     // a source DSN that may carry a password
	envTarget     = "KEEL_BACKUP_TARGET"     // a restore target DSN that may carry a password
	envPassphrase = "KEEL_BACKUP_PASSPHRASE" // age passphrase
	envS3Key      = "AWS_ACCESS_KEY_ID"
	envS3Secret   = "AWS_SECRET_ACCESS_KEY"
)

// backupConfig is what every backup command needs, from flags or a JSON
// file (--config) whose keys are the flag names.
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

// parseBackupFlags parses args, then fills what flags left unset from --config.
func parseBackupFlags(fs *flag.FlagSet, c *backupConfig, args []string) error {
	cfgPath := c.bind(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if *cfgPath == "" {
		return nil
	}
	data, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	var file backupConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("config %s: %w", *cfgPath, err)
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

// driverFor builds the driver for a source or target location. fromArgv
// says the location came from a flag, where a password is refused.
func driverFor(kind, loc string, fromArgv bool) (any, error) {
	if loc == "" {
		return nil, errors.New("no source: set --source or " + envSource)
	}
	switch kind {
	case "postgres":
		if u, err := url.Parse(loc); err == nil && fromArgv {
			if _, has := u.User.Password(); has || u.Query().Has("password") {
				return nil, errors.New("refusing a password on the command line: put the DSN in " + envSource + " or use ~/.pgpass or PGPASSWORD")
			}
		}
		return postgres.New(postgres.Config{DSN: loc})
	case "mysql":
		if c, err := gomysql.ParseDSN(loc); err == nil && fromArgv && c.Passwd != "" {
			return nil, errors.New("refusing a password on the command line: put the DSN in " + envSource)
		}
		return mysql.New(mysql.Config{DSN: loc})
	case "sqlite":
		return sqlite.New(sqlite.Config{Path: loc})
	case "dir":
		return dir.New(dir.Config{Path: loc})
	case "":
		return nil, errors.New("--driver is required (postgres, mysql, sqlite or dir)")
	}
	return nil, fmt.Errorf("unknown driver %q (want postgres, mysql, sqlite or dir)", kind)
}

func (c *backupConfig) source(fs *flag.FlagSet) (string, bool) {
	fromArgv := false
	fs.Visit(func(f *flag.Flag) { fromArgv = fromArgv || f.Name == "source" })
	if c.Source == "" {
		return os.Getenv(envSource), false
	}
	return c.Source, fromArgv
}

func (c *backupConfig) storage() (backup.Storage, error) {
	if c.Storage == "" {
		return nil, errors.New("--storage is required")
	}
	if rest, ok := strings.CutPrefix(c.Storage, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if c.S3Endpoint == "" {
			return nil, errors.New("--s3-endpoint is required for s3:// storage")
		}
		return s3.New(s3.Config{Endpoint: c.S3Endpoint, Bucket: bucket, Prefix: prefix, Region: c.S3Region,
			AccessKeyID: os.Getenv(envS3Key), SecretAccessKey: os.Getenv(envS3Secret), Insecure: c.S3Insecure})
	}
	return local.New(c.Storage)
}

func (c *backupConfig) passphrase() (string, error) {
	if c.PassphraseFile != "" {
		b, err := os.ReadFile(c.PassphraseFile)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return os.Getenv(envPassphrase), nil
}

// repository builds the Repository; withSource also opens the source.
func (c *backupConfig) repository(fs *flag.FlagSet, stderr io.Writer, withSource bool) (*backup.Repository, error) {
	st, err := c.storage()
	if err != nil {
		return nil, err
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
			return nil, err
		}
		if cfg.SigningKey, err = backup.ParseSigningKey(b); err != nil {
			return nil, err
		}
	}
	for _, p := range c.VerifyKeys {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		k, err := backup.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		cfg.VerifyKeys = append(cfg.VerifyKeys, ed25519.PublicKey(k))
	}
	for _, r := range c.Recipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return nil, fmt.Errorf("--recipient: %w", err)
		}
		cfg.Recipients = append(cfg.Recipients, rc)
	}
	for _, p := range c.Identities {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		ids, err := age.ParseIdentities(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("--identity %s: %w", p, err)
		}
		cfg.Identities = append(cfg.Identities, ids...)
	}
	pass, err := c.passphrase()
	if err != nil {
		return nil, err
	}
	if pass != "" {
		if withSource && len(cfg.Recipients) == 0 {
			r, err := age.NewScryptRecipient(pass)
			if err != nil {
				return nil, err
			}
			cfg.Recipients = []age.Recipient{r}
		}
		id, err := age.NewScryptIdentity(pass)
		if err != nil {
			return nil, err
		}
		cfg.Identities = append(cfg.Identities, id)
	}
	if withSource {
		loc, fromArgv := c.source(fs)
		d, err := driverFor(c.Driver, loc, fromArgv)
		if err != nil {
			return nil, err
		}
		cfg.Source = d.(backup.Source)
	}
	return backup.New(cfg)
}

// open builds the repository (withSource: and its source) and a context
// that SIGINT or SIGTERM cancels; done releases both.
func (c *backupConfig) open(fs *flag.FlagSet, stderr io.Writer, withSource bool) (*backup.Repository, context.Context, func(), error) {
	repo, err := c.repository(fs, stderr, withSource)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := signalContext()
	return repo, ctx, func() { cancel(); _ = repo.Close() }, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func init() {
	register(command{group: "backup", name: "create", summary: "back up the source now, or on --schedule", run: backupCreate})
	register(command{group: "backup", name: "list", summary: "list backups with their verification state", run: backupList})
	register(command{group: "backup", name: "verify", summary: "verify a backup: checksum, full read, or trial restore", run: backupVerify})
	register(command{group: "backup", name: "restore", summary: "restore a backup (latest or --id) into the source or --target", run: backupRestore})
	register(command{group: "backup", name: "prune", summary: "apply a retention policy (dry run unless --confirm)", run: backupPrune})
	register(command{group: "backup", name: "keygen", summary: "write a new Ed25519 manifest signing key pair", run: backupKeygen})
}

func backupCreate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c backupConfig
	schedule := fs.String("schedule", "", "run on this schedule until interrupted: cron (\"30 2 * * *\"), @daily, @every 6h, or 6h")
	lock := fs.String("lock", "", "lock file that keeps scheduled runs from overlapping across processes")
	timeout := fs.Duration("timeout", 0, "bound each run (0: none)")
	if err := parseBackupFlags(fs, &c, args); err != nil {
		return err
	}
	repo, ctx, done, err := c.open(fs, stderr, true)
	if err != nil {
		return err
	}
	defer done()
	job := func(ctx context.Context) error {
		m, err := repo.Create(ctx)
		if m != nil {
			fmt.Fprintf(stdout, "%s\t%s\t%d bytes raw\t%d bytes stored\n", m.ID, m.Driver, m.RawSize, m.StoredSize)
		}
		return cliError(err)
	}
	if *schedule == "" {
		if *timeout > 0 {
			var c2 context.CancelFunc
			ctx, c2 = context.WithTimeout(ctx, *timeout)
			defer c2()
		}
		return job(ctx)
	}
	sched, err := backup.ParseSchedule(*schedule, time.Local)
	if err != nil {
		return err
	}
	scfg := backup.SchedulerConfig{Schedule: sched, Job: job, Timeout: *timeout,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	if *lock != "" {
		scfg.Lock = backup.FileLock{Path: *lock}
	}
	s, err := backup.NewScheduler(scfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

func backupList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c backupConfig
	asJSON := fs.Bool("json", false, "print manifests as JSON lines")
	if err := parseBackupFlags(fs, &c, args); err != nil {
		return err
	}
	repo, ctx, done, err := c.open(fs, stderr, false)
	if err != nil {
		return err
	}
	defer done()
	inv, err := repo.Inventory(ctx)
	if err != nil {
		return err
	}
	attention := len(inv.Problems)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range inv.Entries {
			status, bad := entryStatus(e)
			if bad {
				attention++
			}
			row := map[string]any{"id": e.ID, "seq": e.Seq, "status": status, "manifest": e.Manifest, "verification": e.Verification}
			if e.Err != nil {
				row["error"] = e.Err.Error()
			}
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
		for _, p := range inv.Problems {
			if err := enc.Encode(map[string]any{"repository": inv.Repository, "problem": cliError(p).Error()}); err != nil {
				return err
			}
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEQ\tDRIVER\tSTARTED\tRAW\tSTORED\tVERIFIED\tSTATUS")
		for _, e := range inv.Entries {
			status, bad := entryStatus(e)
			if bad {
				attention++
			}
			seq := "-"
			if e.Seq > 0 {
				seq = fmt.Sprint(e.Seq)
			}
			m := e.Manifest
			if m == nil {
				started := "-"
				if !e.StartedAt().IsZero() {
					started = e.StartedAt().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t-\t%s\t-\t-\t-\t%s\n", e.ID, seq, started, status)
				continue
			}
			ver := "never"
			if e.Verification != nil {
				ver = e.Verification.Level.String() + " " + e.Verification.VerifiedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", m.ID, seq, m.Driver, m.StartedAt.Format(time.RFC3339), m.RawSize, m.StoredSize, ver, status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, p := range inv.Problems {
			fmt.Fprintf(stderr, "WARNING: %v\n", cliError(p))
		}
	}
	if attention > 0 {
		return fmt.Errorf("%d problem(s) need attention (see above)", attention)
	}
	return nil
}

func backupVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c backupConfig
	id := fs.String("id", "latest", "backup id, or latest")
	level := fs.String("level", "full", "checksum, full or restore")
	sanity := fs.String("sanity-query", "", "query the trial restore must answer (level restore)")
	if err := parseBackupFlags(fs, &c, args); err != nil {
		return err
	}
	lvl, err := backup.ParseLevel(*level)
	if err != nil {
		return err
	}
	repo, err := c.repository(fs, stderr, false)
	if err != nil {
		return err
	}
	defer func() { _ = repo.Close() }()
	opts := backup.VerifyOptions{Level: lvl, SanityQuery: *sanity}
	if lvl == backup.VerifyRestore {
		loc, fromArgv := c.source(fs)
		d, err := driverFor(c.Driver, loc, fromArgv)
		if err != nil {
			return err
		}
		trial, ok := d.(backup.TrialTarget)
		if !ok {
			return fmt.Errorf("driver %s has no trial restore; use --level full", c.Driver)
		}
		opts.Trial = trial
	}
	ctx, cancel := signalContext()
	defer cancel()
	v, err := repo.Verify(ctx, *id, opts)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "%s\tOK\t%s", v.ID, v.Level)
	if v.Detail != "" {
		fmt.Fprintf(stdout, "\t%s", v.Detail)
	}
	if !v.Recorded {
		fmt.Fprint(stdout, "\tnot recorded: without -signing-key no verification record is stored, so backup list still shows the previous one")
	}
	fmt.Fprintln(stdout)
	return nil
}

func backupRestore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c backupConfig
	id := fs.String("id", "latest", "backup id, or latest")
	target := fs.String("target", "", "restore here instead of the source (DSN without password, or path; or set "+envTarget+")")
	force := fs.Bool("force", false, "replace a target that holds data")
	allowSource := fs.Bool("allow-other-source", false, "restore a backup of another database than the target (a staging copy, a new server)")
	allowRepo := fs.Bool("allow-other-repository", false, "restore a backup made in another repository")
	allowLegacy := fs.Bool("allow-legacy", false, "restore a backup made before repository identities that the index does not vouch for")
	dryRun := fs.Bool("dry-run", false, "check and print the plan; restore nothing")
	if err := parseBackupFlags(fs, &c, args); err != nil {
		return err
	}
	repo, err := c.repository(fs, stderr, false)
	if err != nil {
		return err
	}
	defer func() { _ = repo.Close() }()
	loc, fromArgv := *target, true
	if loc == "" && os.Getenv(envTarget) != "" {
		loc, fromArgv = os.Getenv(envTarget), false
	}
	if loc == "" {
		loc, fromArgv = c.source(fs)
	}
	d, err := driverFor(c.Driver, loc, fromArgv)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	opts := backup.RestoreOptions{Force: *force, AllowOtherSource: *allowSource, AllowOtherRepository: *allowRepo, AllowLegacy: *allowLegacy,
		// The plan is printed after every check and before the first write.
		Confirm: func(_ context.Context, p *backup.RestorePlan) error {
			printPlan(stdout, p)
			return nil
		}}
	if *dryRun {
		p, err := repo.PlanRestore(ctx, *id, d.(backup.Target), opts)
		if err != nil {
			return cliError(err)
		}
		printPlan(stdout, p)
		fmt.Fprintln(stdout, "dry run: nothing was restored")
		return nil
	}
	m, err := repo.Restore(ctx, *id, d.(backup.Target), opts)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", m.ID, d.(backup.Target).Name())
	return nil
}

func backupPrune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c backupConfig
	var p backup.Policy
	fs.IntVar(&p.Last, "keep-last", 0, "keep the n newest backups")
	fs.IntVar(&p.Hourly, "keep-hourly", 0, "keep the newest backup of each of the last n hours with one")
	fs.IntVar(&p.Daily, "keep-daily", 0, "keep the newest backup of each of the last n days with one")
	fs.IntVar(&p.Weekly, "keep-weekly", 0, "… of each of the last n ISO weeks")
	fs.IntVar(&p.Monthly, "keep-monthly", 0, "… of each of the last n months")
	fs.IntVar(&p.Yearly, "keep-yearly", 0, "… of each of the last n years")
	utc := fs.Bool("utc", false, "calendar periods in UTC instead of local time")
	confirm := fs.Bool("confirm", false, "delete; without it prune only shows what it would delete")
	if err := parseBackupFlags(fs, &c, args); err != nil {
		return err
	}
	if *confirm && c.SigningKey == "" {
		return errors.New("-signing-key is required with -confirm: pruning updates the signed index")
	}
	p.Location = time.Local
	if *utc {
		p.Location = time.UTC
	}
	repo, ctx, done, err := c.open(fs, stderr, false)
	if err != nil {
		return err
	}
	defer done()
	res, err := repo.Prune(ctx, p, !*confirm)
	if res != nil {
		for _, d := range res.Decisions {
			verdict := "remove"
			if d.Keep {
				verdict = "keep (" + strings.Join(d.Reasons, ", ") + ")"
			} else if !*confirm {
				verdict = "would remove"
			}
			fmt.Fprintf(stdout, "%s\t%s\n", d.ID, verdict)
		}
		for _, s := range res.Skipped {
			status, _ := entryStatus(s)
			fmt.Fprintf(stdout, "%s\tskipped: %s\n", s.ID, status)
		}
		if !*confirm {
			fmt.Fprintln(stdout, "dry run: nothing was deleted; add --confirm to delete")
		}
	}
	return cliError(err)
}

func backupKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write PREFIX.key (private, 0600) and PREFIX.pub")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "--out is required")
		return errUsage
	}
	k, err := backup.GenerateSigningKey()
	if err != nil {
		return err
	}
	priv, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	pub, err := backup.MarshalPublicKeyPEM(k.Public())
	if err != nil {
		return err
	}
	if err := writeNew(*out+".key", priv, 0o600); err != nil {
		return err
	}
	if err := writeNew(*out+".pub", pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signing key %s.key, verify key %s.pub (key id %s)\n", *out, *out, backup.KeyID(k.Public()))
	return nil
}

// writeNew writes a file that must not exist yet, synced.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
