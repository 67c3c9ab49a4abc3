package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keel-go/keel/backup"
)

// The backup commands that make, list, verify, restore and prune backups.
// Their shared setup (flags, storage, keys, drivers) is backup_setup.go.

func backupCreate(args []string, stdout, stderr io.Writer) error {
	var schedule, lock string
	var timeout time.Duration
	op, err := openBackup(backupSetup{name: "create", withSource: true, flags: func(fs *flag.FlagSet) {
		fs.StringVar(&schedule, "schedule", "", "run on this schedule until interrupted: cron (\"30 2 * * *\"), @daily, @every 6h, or 6h")
		fs.StringVar(&lock, "lock", "", "lock file that keeps scheduled runs from overlapping across processes")
		fs.DurationVar(&timeout, "timeout", 0, "bound each run (0: none)")
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	repo, ctx := op.repo, op.ctx
	job := func(ctx context.Context) error {
		m, err := repo.Create(ctx)
		if m != nil {
			fmt.Fprintf(stdout, "%s\t%s\t%d bytes raw\t%d bytes stored\n", m.ID, m.Driver, m.RawSize, m.StoredSize)
		}
		return cliError(err)
	}
	if schedule == "" {
		if timeout > 0 {
			var c2 context.CancelFunc
			ctx, c2 = context.WithTimeout(ctx, timeout)
			defer c2()
		}
		return job(ctx)
	}
	sched, err := backup.ParseSchedule(schedule, time.Local)
	if err != nil {
		return fmt.Errorf("-schedule: %w", err)
	}
	scfg := backup.SchedulerConfig{Schedule: sched, Job: job, Timeout: timeout,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	if lock != "" {
		scfg.Lock = backup.FileLock{Path: lock}
	}
	s, err := backup.NewScheduler(scfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

func backupList(args []string, stdout, stderr io.Writer) error {
	var asJSON bool
	op, err := openBackup(backupSetup{name: "list", flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print manifests as JSON lines")
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	inv, err := op.repo.Inventory(op.ctx)
	if err != nil {
		return err
	}
	attention := len(inv.Problems)
	if asJSON {
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
	var id, level, sanity string
	var lvl backup.Level
	op, err := openBackup(backupSetup{name: "verify", flags: func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "latest", "backup id, or latest")
		fs.StringVar(&level, "level", "full", "checksum, full or restore")
		fs.StringVar(&sanity, "sanity-query", "", "query the trial restore must answer (level restore)")
	}, check: func(*backupConfig) (err error) {
		if lvl, err = backup.ParseLevel(level); err != nil {
			return fmt.Errorf("-level: %w", err)
		}
		return nil
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	opts := backup.VerifyOptions{Level: lvl, SanityQuery: sanity}
	if lvl == backup.VerifyRestore {
		d, err := op.sourceDriver()
		if err != nil {
			return err
		}
		trial, ok := d.(backup.TrialTarget)
		if !ok {
			return fmt.Errorf("-driver %s has no trial restore; use -level full", op.cfg.Driver)
		}
		opts.Trial = trial
	}
	v, err := op.repo.Verify(op.ctx, id, opts)
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
	var id, target string
	var force, allowSource, allowRepo, allowLegacy, dryRun bool
	op, err := openBackup(backupSetup{name: "restore", flags: func(fs *flag.FlagSet) {
		fs.StringVar(&id, "id", "latest", "backup id, or latest")
		fs.StringVar(&target, "target", "", "restore here instead of the source (DSN without password, or path; or set "+envTarget+")")
		fs.BoolVar(&force, "force", false, "replace a target that holds data")
		fs.BoolVar(&allowSource, "allow-other-source", false, "restore a backup of another database than the target (a staging copy, a new server)")
		fs.BoolVar(&allowRepo, "allow-other-repository", false, "restore a backup made in another repository")
		fs.BoolVar(&allowLegacy, "allow-legacy", false, "restore a backup made before repository identities that the index does not vouch for")
		fs.BoolVar(&dryRun, "dry-run", false, "check and print the plan; restore nothing")
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	d, err := op.targetDriver(target)
	if err != nil {
		return err
	}
	opts := backup.RestoreOptions{Force: force, AllowOtherSource: allowSource, AllowOtherRepository: allowRepo, AllowLegacy: allowLegacy,
		// The plan is printed after every check and before the first write.
		Confirm: func(_ context.Context, p *backup.RestorePlan) error {
			printPlan(stdout, p)
			return nil
		}}
	if dryRun {
		p, err := op.repo.PlanRestore(op.ctx, id, d, opts)
		if err != nil {
			return cliError(err)
		}
		printPlan(stdout, p)
		fmt.Fprintln(stdout, "dry run: nothing was restored")
		return nil
	}
	m, err := op.repo.Restore(op.ctx, id, d, opts)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", m.ID, d.Name())
	return nil
}

func backupPrune(args []string, stdout, stderr io.Writer) error {
	var p backup.Policy
	var utc, confirm bool
	op, err := openBackup(backupSetup{name: "prune", flags: func(fs *flag.FlagSet) {
		fs.IntVar(&p.Last, "keep-last", 0, "keep the n newest backups")
		fs.IntVar(&p.Hourly, "keep-hourly", 0, "keep the newest backup of each of the last n hours with one")
		fs.IntVar(&p.Daily, "keep-daily", 0, "keep the newest backup of each of the last n days with one")
		fs.IntVar(&p.Weekly, "keep-weekly", 0, "… of each of the last n ISO weeks")
		fs.IntVar(&p.Monthly, "keep-monthly", 0, "… of each of the last n months")
		fs.IntVar(&p.Yearly, "keep-yearly", 0, "… of each of the last n years")
		fs.BoolVar(&utc, "utc", false, "calendar periods in UTC instead of local time")
		fs.BoolVar(&confirm, "confirm", false, "delete; without it prune only shows what it would delete")
	}, check: func(c *backupConfig) error {
		if confirm && c.SigningKey == "" {
			return errors.New("-signing-key is required with -confirm: pruning updates the signed index")
		}
		return nil
	}}, args, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	p.Location = time.Local
	if utc {
		p.Location = time.UTC
	}
	res, err := op.repo.Prune(op.ctx, p, !confirm)
	if res != nil {
		for _, d := range res.Decisions {
			verdict := "remove"
			if d.Keep {
				verdict = "keep (" + strings.Join(d.Reasons, ", ") + ")"
			} else if !confirm {
				verdict = "would remove"
			}
			fmt.Fprintf(stdout, "%s\t%s\n", d.ID, verdict)
		}
		for _, s := range res.Skipped {
			status, _ := entryStatus(s)
			fmt.Fprintf(stdout, "%s\tskipped: %s\n", s.ID, status)
		}
		if !confirm {
			fmt.Fprintln(stdout, "dry run: nothing was deleted; add -confirm to delete")
		}
	}
	return cliError(err)
}

func backupKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel backup keygen", flag.ContinueOnError)
	out := fs.String("out", "", "write PREFIX.key (private, 0600) and PREFIX.pub")
	if err := parseArgs(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "keel backup keygen: -out is required")
		fs.Usage()
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
