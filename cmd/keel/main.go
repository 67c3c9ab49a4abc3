// Command keel is the operator's tool for a service built on Keel: backups,
// audit-log verification and key management.
//
//	keel <group> <command> [flags]
//
// Each command group lives in its own file and registers itself in
// commands; `keel help` lists what is built in. Secrets are never taken from
// arguments: commands read them from files or the environment.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
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

var commands = map[string]command{}

// register adds a command; it is called from the init functions of the
// group files (keys.go, backup.go, audit.go).
func register(c command) {
	commands[c.group+" "+c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	if len(args) < 2 {
		fmt.Fprintf(stderr, "keel: %q needs a command\n", args[0])
		usage(stderr)
		return 2
	}
	c, ok := commands[args[0]+" "+args[1]]
	if !ok {
		fmt.Fprintf(stderr, "keel: unknown command %q\n", args[0]+" "+args[1])
		usage(stderr)
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

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: keel <group> <command> [flags]")
	fmt.Fprintln(w)
	if len(commands) == 0 {
		fmt.Fprintln(w, "no commands are built in yet")
		return
	}
	names := make([]string, 0, len(commands))
	for k := range commands {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  keel %-22s %s\n", k, commands[k].summary)
	}
	fmt.Fprintln(w, "\nRun 'keel <group> <command> -h' for a command's flags.")
}
