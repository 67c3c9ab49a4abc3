// Command versitygw is the S3 server that backup/s3's tests run against
// (backup/s3/s3test starts it), built by .ci/run from versitygw's own
// packages: its S3 API (embedgw, the library behind cmd/versitygw) over its
// posix backend, the same code that `versitygw posix DIR` runs. It leaves
// out what those tests never reach and what makes cmd/versitygw a large
// compile: the Azure, S3-proxy, ScoutFS and plugin backends and the
// command-line front end. It takes the subset of versitygw's command line
// that s3test uses, so the same test helper runs either binary:
//
//	ROOT_ACCESS_KEY=... ROOT_SECRET_KEY=... versitygw --port 127.0.0.1:7070 posix DIR
//
// The defaults are cmd/versitygw v1.8.0's (region, connection and request
// limits, multipart parts, posix permissions, concurrency, buffer size,
// copy threshold, xattr metadata).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "versitygw (keel ci):", err)
		os.Exit(1)
	}
}

func run() error {
	port := flag.String("port", ":7070", "address the S3 API listens on")
	flag.Parse()
	if flag.NArg() != 2 || flag.Arg(0) != "posix" {
		return fmt.Errorf("usage: versitygw --port ADDR posix DIR (the only backend this build has)")
	}
	root := flag.Arg(1)
	access, secret := os.Getenv("ROOT_ACCESS_KEY"), os.Getenv("ROOT_SECRET_KEY")
	if access == "" || secret == "" {
		return fmt.Errorf("ROOT_ACCESS_KEY and ROOT_SECRET_KEY must be set")
	}
	if err := (meta.XattrMeta{}).Test(root); err != nil {
		return fmt.Errorf("xattr check failed: %w", err)
	}
	opts := posix.PosixOpts{
		Concurrency:         5000,
		IOBufferSize:        1024 * 1024,
		CopyObjectThreshold: 5 * 1024 * 1024 * 1024,
	}
	opts.SetNewDirPerm(0o755)
	opts.SetNewFilePerm(0o644)
	be, err := posix.New(root, meta.XattrMeta{}, opts)
	if err != nil {
		return fmt.Errorf("failed to init posix backend: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return embedgw.RunVersityGW(ctx, be, &embedgw.Config{
		RootUserAccess:    access,
		RootUserSecret:    secret,
		Region:            "us-east-1",
		Ports:             []string{*port},
		MaxConnections:    250000,
		MaxRequests:       100000,
		MultipartMaxParts: 10000,
	})
}
