package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keel-go/keel/backup"
)

// The repository's identity and index: `keel backup init` and
// `keel backup forget`, and what the other backup commands print about
// them (restore plans, list statuses, errors in the CLI's own flags).

func backupInit(args []string, stdout, stderr io.Writer) error {
	var adopt, rebuild bool
	op, err := openBackup(backupSetup{name: "init", flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&adopt, "adopt-legacy", false, "add the backups made before repository identities to the index, vouching that they belong here")
		fs.BoolVar(&rebuild, "rebuild-index", false, "write a new index from this repository's manifests when the index is missing, untrusted or rolled back (what the old one listed may be lost)")
	}, check: func(c *backupConfig) error {
		if c.SigningKey == "" {
			return errors.New("-signing-key is required: the identity and the index are signed")
		}
		return nil
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	res, err := op.repo.Init(op.ctx, backup.InitOptions{AdoptLegacy: adopt, RebuildIndex: rebuild})
	if err != nil {
		return cliError(err)
	}
	state := "identity exists"
	if res.Created {
		state = "identity created"
	}
	fmt.Fprintf(stdout, "repository %s: %s, index seq %d\n", res.Repository, state, res.Seq)
	if res.Rebuilt {
		fmt.Fprintln(stdout, "index rebuilt from the repository's manifests")
	}
	for _, id := range res.Adopted {
		fmt.Fprintf(stdout, "adopted legacy backup %s\n", id)
	}
	return nil
}

func backupForget(args []string, stdout, stderr io.Writer) error {
	var ids listFlag
	op, err := openBackup(backupSetup{name: "forget", flags: func(fs *flag.FlagSet) {
		fs.Var(&ids, "id", "id of a backup the index lists and storage lost; repeatable")
	}, check: func(c *backupConfig) error {
		if len(ids) == 0 {
			return errors.New("-id is required")
		}
		if c.SigningKey == "" {
			return errors.New("-signing-key is required: the index is signed")
		}
		return nil
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	idx, err := op.repo.Forget(op.ctx, ids...)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "forgot %s; index seq %d\n", strings.Join(ids, ", "), idx.Seq)
	return nil
}

// optionFlags are the restore flags of the RestoreOptions fields.
var optionFlags = map[string]string{
	"Force":                "-force",
	"AllowOtherSource":     "-allow-other-source",
	"AllowOtherRepository": "-allow-other-repository",
	"AllowLegacy":          "-allow-legacy",
}

// cliError rewrites the parts of err that name Go API remedies into the
// CLI's flags and commands, keeping the rest of the message.
func cliError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var re *backup.RefusedError
	if errors.As(err, &re) {
		msg = strings.Replace(msg, re.Error(), fmt.Sprintf("restore of %s refused: %s; pass %s to restore it anyway", re.ID, re.Reason, optionFlags[re.Option]), 1)
	}
	var ie *backup.IndexError
	if errors.As(err, &ie) {
		msg = strings.Replace(msg, ie.Error(), "repository index: "+indexProblem(ie), 1)
	}
	var me *backup.MissingError
	if errors.As(err, &me) {
		msg = strings.Replace(msg, me.Error(), strings.TrimPrefix(me.Error(), "backup: ")+
			"; restore an older backup with -id, and once you know why they are gone, drop them with keel backup forget -id ...", 1)
	}
	msg = strings.TrimPrefix(msg, "backup: ")
	return errors.New(msg)
}

func indexProblem(ie *backup.IndexError) string {
	s := ie.Reason
	switch ie.Remedy {
	case backup.RemedyInit:
		s += "; keel backup init makes them"
	case backup.RemedyRebuildIndex:
		s += "; keel backup init -rebuild-index writes a new index, accepting that what the old one listed may be lost"
	case backup.RemedyRepositoryID:
		s += "; keel backup init -repository-id " + ie.RepositoryID + " recreates the identity object"
	case backup.RemedyChooseBackup:
		s += "; name a backup with -id to use it anyway"
	case backup.RemedyPrune:
		s += "; keel backup prune removes old backups"
	}
	return s
}

// entryStatus says what list and prune show for e, and whether it needs
// an operator's attention (list then exits 1).
func entryStatus(e backup.Entry) (string, bool) {
	var re *backup.RefusedError
	switch {
	case e.Err == nil && e.Seq == 0 && e.Manifest != nil && !e.Manifest.Legacy():
		return "not in the index yet (the next backup adds it)", false
	case e.Err == nil:
		return "ok", false
	case errors.Is(e.Err, backup.ErrMissing):
		return "MISSING: listed in the index, gone from storage", true
	case errors.Is(e.Err, backup.ErrLegacy):
		return "legacy: made before repository identities; keel backup init -adopt-legacy vouches for it", false
	case errors.As(e.Err, &re):
		return "OTHER REPOSITORY: " + re.Reason, true
	default:
		return "INVALID: " + strings.TrimPrefix(e.Err.Error(), "backup: "), true
	}
}

// printPlan shows what a restore is about to do.
func printPlan(w io.Writer, p *backup.RestorePlan) {
	m := p.Manifest
	seq := "not in the index"
	if p.Seq > 0 {
		seq = fmt.Sprintf("index seq %d", p.Seq)
	}
	repo := p.Repository
	if repo == "" {
		repo = "(none)"
	}
	fmt.Fprintf(w, "restore plan: backup %s (%s) of repository %s\n", m.ID, seq, repo)
	fmt.Fprintf(w, "  source:   %s\n", p.Source)
	if p.TargetName != p.Target {
		fmt.Fprintf(w, "  target:   %s (%s)\n", p.Target, p.TargetName)
	} else {
		fmt.Fprintf(w, "  target:   %s\n", p.Target)
	}
	fmt.Fprintf(w, "  age:      %s (finished %s)\n", p.Age.Round(time.Second), m.FinishedAt.Format(time.RFC3339))
	if v := p.Verification; v != nil {
		fmt.Fprintf(w, "  verified: %s at %s\n", v.Level, v.VerifiedAt.Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "  verified: never")
	}
	if p.Checked {
		fmt.Fprintln(w, "  checked:  stored object read in full; size and SHA-256 match the signed manifest")
	} else {
		fmt.Fprintln(w, "  checked:  not yet (the stored object is read in full before a restore writes)")
	}
	if !p.TargetEmpty {
		fmt.Fprintln(w, "  replaces: the target's current data (-force)")
	}
	for _, o := range p.Overridden {
		if o.Option != "Force" {
			fmt.Fprintf(w, "  allowed by %s: %s\n", optionFlags[o.Option], o.Reason)
		}
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "  WARNING: %v\n", cliError(warn))
	}
}
