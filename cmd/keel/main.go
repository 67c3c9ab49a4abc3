// Command keel is the operator's tool for a service built on Keel: backups,
// audit-log verification, key management, and the Grafana dashboard and
// Prometheus rules of Keel's metrics.
//
//	keel <group> <command> [flags]
//
// Every command is listed in the table below, in the order `keel help`
// prints them; each group's commands live in their own file (backup.go,
// backup_repo.go, audit.go, keys.go, metrics.go). Secrets are never taken from
// arguments: commands read them from files or the environment.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// command is one `keel <group> <name>` entry.
type command struct {
	group, name string
	summary     string
	// run executes the command with the arguments after its name. Errors are
	// printed by main as "keel: <error>" with exit status 1; errUsage exits 2.
	run func(args []string, stdout, stderr io.Writer) error
}

// errUsage signals a usage error whose message has already been printed.
var errUsage = errors.New("usage")

// commands is every command keel has. A literal table rather than
// registrations from init functions: what the binary can do is read in one
// place, in the order help prints it, and a test checks it for duplicates.
var commands = []command{
	{"audit", "query", "print the audit events that match a filter, as JSON lines", auditQuery},
	{"audit", "verify", "verify an audit log's hash chain and signed checkpoints", auditVerify},
	{"backup", "create", "back up the source now, or on -schedule", backupCreate},
	{"backup", "forget", "drop backups that storage lost from the index, once you know why", backupForget},
	{"backup", "init", "give a repository its identity and index; adopt legacy backups, rebuild a lost index", backupInit},
	{"backup", "keygen", "write a new Ed25519 manifest signing key pair", backupKeygen},
	{"backup", "list", "list backups with their verification state", backupList},
	{"backup", "prune", "apply a retention policy (dry run unless -confirm)", backupPrune},
	{"backup", "restore", "restore a backup (latest or -id) into the source or -target", backupRestore},
	{"backup", "verify", "verify a backup: checksum, full read, or trial restore", backupVerify},
	{"keys", "generate", "write a new key ring file (mode 0600)", keysGenerate},
	{"keys", "list", "show the keys of a key ring (no key material unless -reveal)", keysList},
	{"keys", "promote", "make an existing key of a key ring primary", keysPromote},
	{"keys", "retire", "remove a non-primary key from a key ring", keysRetire},
	{"keys", "rotate", "add a new primary key, keeping old keys for decryption", keysRotate},
	{"metrics", "grafana", "write a Grafana dashboard of Keel's metrics (JSON) to stdout", metricsGrafana},
	{"metrics", "rules", "write Prometheus recording and predict_linear alert rules to stdout", metricsRules},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command args name and returns the exit status: 0, 1 for a
// failed command, 2 for a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	return dispatch(commands, args, stdout, stderr)
}

// dispatch is run over any command table (tests pass their own).
func dispatch(table []command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(table, stdout)
		return 0
	}
	if len(args) < 2 {
		fmt.Fprintf(stderr, "keel: %q needs a command\n", args[0])
		usage(table, stderr)
		return 2
	}
	c, ok := lookup(table, args[0], args[1])
	if !ok {
		fmt.Fprintf(stderr, "keel: unknown command %q\n", args[0]+" "+args[1])
		usage(table, stderr)
		return 2
	}
	if err := c.run(args[2:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "keel: %s %s: %v\n", c.group, c.name, inFlagTerms(err))
		return 1
	}
	return 0
}

func lookup(table []command, group, name string) (command, bool) {
	for _, c := range table {
		if c.group == group && c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(table []command, w io.Writer) {
	fmt.Fprintln(w, "usage: keel <group> <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range table {
		fmt.Fprintf(w, "  keel %-22s %s\n", c.group+" "+c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'keel <group> <command> -h' for a command's flags.")
}
