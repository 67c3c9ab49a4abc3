package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/keel-go/keel/crypto/field"
)

// The keys group manages crypto/field key ring files. No command prints key
// material unless asked to with `keel keys list -reveal`.

// newFlags is a keys command's flag set.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("keel keys "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseKeyFlags parses args and requires -file; usage errors were printed.
func parseKeyFlags(fs *flag.FlagSet, args []string, file *string) error {
	if err := parseArgs(fs, args, fs.Output()); err != nil {
		return err
	}
	if *file == "" {
		fmt.Fprintf(fs.Output(), "%s: -file is required\n", fs.Name())
		fs.Usage()
		return errUsage
	}
	return nil
}

func algorithmFlag(fs *flag.FlagSet) *string {
	return fs.String("algorithm", "xchacha20-poly1305", "AEAD of the new key: xchacha20-poly1305 or aes-256-gcm")
}

func keysGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", stderr)
	file := fs.String("file", "", "key ring file to create (required)")
	algName := algorithmFlag(fs)
	force := fs.Bool("force", false, "overwrite an existing file (its keys are lost: data under them becomes unreadable)")
	if err := parseKeyFlags(fs, args, file); err != nil || *file == "" {
		return err
	}
	alg, err := field.ParseAlgorithm(*algName)
	if err != nil {
		return err
	}
	if _, err := os.Stat(*file); err == nil && !*force {
		return fmt.Errorf("%s exists; use keel keys rotate to add a key, or -force to replace it and lose its keys", *file)
	}
	ks, err := field.GenerateKeyset(alg)
	if err != nil {
		return err
	}
	if err := field.WriteKeysetFile(*file, ks); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (mode 0600): primary key 1 (%s) and a blind-index key\n", *file, alg)
	return nil
}

func keysRotate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rotate", stderr)
	file := fs.String("file", "", "key ring file to update (required)")
	algName := algorithmFlag(fs)
	stage := fs.Bool("stage", false, "add the key without making it primary (step 1 of a rotation without downtime)")
	if err := parseKeyFlags(fs, args, file); err != nil || *file == "" {
		return err
	}
	alg, err := field.ParseAlgorithm(*algName)
	if err != nil {
		return err
	}
	return updateKeyset(*file, stdout, func(ks *field.Keyset) (string, error) {
		k, err := ks.Rotate(alg, !*stage)
		if err != nil {
			return "", err
		}
		if *stage {
			return fmt.Sprintf("added key %d (%s), not primary; primary is still key %d", k.ID, alg, ks.Primary), nil
		}
		return fmt.Sprintf("added key %d (%s) as primary; older keys kept for decryption", k.ID, alg), nil
	})
}

func keysPromote(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("promote", stderr)
	file := fs.String("file", "", "key ring file to update (required)")
	id := fs.Uint("id", 0, "ID of the key to make primary (required)")
	if err := parseKeyFlags(fs, args, file); err != nil || *file == "" {
		return err
	}
	if err := checkID(fs, *id); err != nil {
		return err
	}
	return updateKeyset(*file, stdout, func(ks *field.Keyset) (string, error) {
		if err := ks.Promote(uint32(*id)); err != nil {
			return "", err
		}
		return fmt.Sprintf("key %d is now primary", *id), nil
	})
}

func keysRetire(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("retire", stderr)
	file := fs.String("file", "", "key ring file to update (required)")
	id := fs.Uint("id", 0, "ID of the key to remove (required; never the primary)")
	if err := parseKeyFlags(fs, args, file); err != nil || *file == "" {
		return err
	}
	if err := checkID(fs, *id); err != nil {
		return err
	}
	return updateKeyset(*file, stdout, func(ks *field.Keyset) (string, error) {
		if err := ks.Retire(uint32(*id)); err != nil {
			return "", err
		}
		return fmt.Sprintf("removed key %d; values still encrypted under it can no longer be decrypted", *id), nil
	})
}

// checkID requires a key id flag in [1, 2^32-1].
func checkID(fs *flag.FlagSet, id uint) error {
	if id == 0 || id > math.MaxUint32 {
		fmt.Fprintf(fs.Output(), "%s: -id must be a key ID from 1 to %d\n", fs.Name(), uint32(math.MaxUint32))
		return errUsage
	}
	return nil
}

// updateKeyset reads a key ring file, applies change and writes it back
// atomically.
func updateKeyset(path string, stdout io.Writer, change func(*field.Keyset) (string, error)) error {
	ks, err := field.ReadKeysetFile(path)
	if err != nil {
		return err
	}
	msg, err := change(ks)
	if err != nil {
		return err
	}
	if err := field.WriteKeysetFile(path, ks); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", path, msg)
	return nil
}

func keysList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("list", stderr)
	file := fs.String("file", "", "key ring file to read (required)")
	reveal := fs.Bool("reveal", false, "also print key material (base64); only to a secure terminal")
	if err := parseKeyFlags(fs, args, file); err != nil || *file == "" {
		return err
	}
	ks, err := field.ReadKeysetFile(*file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-6s %-20s %-22s %s\n", "ID", "ALGORITHM", "CREATED", "STATUS")
	for _, k := range ks.Keys {
		status := "decrypt only"
		if k.ID == ks.Primary {
			status = "primary"
		}
		fmt.Fprintf(stdout, "%-6s %-20s %-22s %s\n", strconv.FormatUint(uint64(k.ID), 10), k.Algorithm, k.Created.UTC().Format(time.RFC3339), status)
		if *reveal {
			fmt.Fprintf(stdout, "       material %s\n", base64.StdEncoding.EncodeToString(k.Material.Reveal()))
		}
	}
	if *reveal {
		fmt.Fprintf(stdout, "index key %s\n", base64.StdEncoding.EncodeToString(ks.IndexKey.Reveal()))
	}
	return nil
}
