package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseArgs parses a command's flags, printing usage problems to stderr.
// Commands take flags only: a positional argument is a usage error (secrets
// and paths are always named by a flag). -h returns flag.ErrHelp, which main
// turns into exit status 0.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}
