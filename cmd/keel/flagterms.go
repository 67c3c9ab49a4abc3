package main

import (
	"errors"
	"strings"
)

// The libraries' errors name their Go API (Config.VerifyKeys,
// RestoreOptions.Force, Policy.Daily): right for a program, meaningless to
// someone at a shell. inFlagTerms rewrites what reaches the CLI's user into
// its flags, environment variables and commands. main applies it to every
// error a command returns, so a library message that a new code path lets
// through is translated too.

// flagPhrases maps whole library phrases first, then the remaining field
// names, so that a sentence reads right after the rewrite.
// keepFlags are prune's retention flags.
const keepFlags = "-keep-last, -keep-hourly, -keep-daily, -keep-weekly, -keep-monthly or -keep-yearly"

var flagPhrases = strings.NewReplacer(
	// backup.New
	"Config.VerifyKeys is empty and there is no Config.SigningKey",
	"no key to check signatures with: give -verify-key FILE.pub (the public half written by keel backup keygen), or -signing-key FILE.key",
	"Config.Recipients is empty: set it, or set Config.Unencrypted to store plain backups",
	"no encryption given: add -recipient age1... (an age public key), -passphrase-file FILE or "+envPassphrase+", or -unencrypted to store plain backups",
	"Config.Unencrypted and Config.Recipients are mutually exclusive",
	"-unencrypted and -recipient (or a passphrase) are mutually exclusive",
	"Config.SigningKey is required to create backups",
	"-signing-key is required to create backups: manifests are signed",
	"Config.SigningKey is required to change the repository's index",
	"-signing-key is required: this changes the repository's signed index",
	"Config.SigningKey is required to initialise a repository",
	"-signing-key is required to initialise a repository",
	"the backup is encrypted and Config.Identities is empty",
	"the backup is encrypted: give -identity FILE (an age identity), or -passphrase-file FILE or "+envPassphrase+" for a passphrase backup",
	"none of Config.Identities can decrypt it",
	"none of the -identity files or the passphrase can decrypt it",
	// backup.ErrNoPolicy, which cliError may have flattened to its text.
	"retention policy is empty",
	"no retention policy: give at least one of "+keepFlags+" (prune keeps the backups they name and removes the rest)",
	"VerifyOptions.Trial is required for VerifyRestore",
	"-level restore needs a source driver with a trial restore (-driver postgres, mysql or sqlite and -source)",
	// Drivers and storage.
	"Config.AccessKeyID and Config.SecretAccessKey are required",
	envS3Key+" and "+envS3Secret+" must be set",
	"s3: Config.Bucket is required", "-storage s3://BUCKET/prefix must name a bucket",
	"s3: Config.Endpoint", "-s3-endpoint",
	"postgres: Config.DSN", "the postgres DSN (-source, -target or their environment variables)",
	"mysql: Config.DSN", "the mysql DSN (-source, -target or their environment variables)",
	"sqlite: Config.Path", "the sqlite path (-source or -target)",
	"dir: Config.Path", "the directory (-source or -target)",
	// What is left: a field name alone.
	"Config.VerifyKeys", "-verify-key",
	"Config.SigningKey", "-signing-key",
	"Config.Recipients", "-recipient",
	"Config.Identities", "-identity",
	"Config.Unencrypted", "-unencrypted",
	"Config.Compression", "-compression",
	"Config.RepositoryID", "-repository-id",
	"SchedulerConfig.Timeout", "-timeout",
	"SchedulerConfig.Schedule", "-schedule",
	"VerifyOptions.Level", "-level",
	"InitOptions.RebuildIndex", "-rebuild-index",
	"InitOptions.AdoptLegacy", "-adopt-legacy",
	"RestoreOptions.Force", "-force",
	"RestoreOptions.AllowOtherSource", "-allow-other-source",
	"RestoreOptions.AllowOtherRepository", "-allow-other-repository",
	"RestoreOptions.AllowLegacy", "-allow-legacy",
	"Policy.Last", "-keep-last",
	"Policy.Hourly", "-keep-hourly",
	"Policy.Daily", "-keep-daily",
	"Policy.Weekly", "-keep-weekly",
	"Policy.Monthly", "-keep-monthly",
	"Policy.Yearly", "-keep-yearly",
)

// inFlagTerms returns err with the library's Go names replaced by the
// CLI's flags; errors that name none are returned as they are.
func inFlagTerms(err error) error {
	if err == nil || errors.Is(err, errUsage) {
		return err
	}
	out := strings.TrimPrefix(flagPhrases.Replace(err.Error()), "backup: ")
	if out == err.Error() {
		return err
	}
	return errors.New(out)
}
