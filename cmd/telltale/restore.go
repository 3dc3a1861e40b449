package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/harness/journal"
	"telltale.dev/harness/restore"
)

func init() {
	register(command{name: "restore", summary: "put phones back as they were after a crashed or interrupted run (from RUN_DIR's journal)", run: runRestore})
}

func runRestore(ctx context.Context, args []string) int {
	return restoreMain(ctx, args, os.Stdout, os.Stderr)
}

func restoreMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale restore RUN_DIR\n\nUndoes every device change in RUN_DIR/journal.jsonl not yet undone, newest first:\n"+
			"http_proxy, adb reverse rules, CA mounts, settings, battery, Wi-Fi, test packages, files, and\nremoves proxy containers the run left. Safe to run more than once.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	dir := fs.Arg(0)
	entries, err := journal.Read(dir)
	if err != nil {
		fmt.Fprintf(stderr, "telltale restore: %v\n", err)
		return 2
	}
	pending := journal.Pending(entries)
	if len(pending) == 0 {
		fmt.Fprintf(stdout, "%s: nothing to restore\n", dir)
		return 0
	}
	fmt.Fprintf(stdout, "%s: restoring %d change(s)\n", dir, len(pending))
	if err := restore.Run(ctx, dir, removeContainer); err != nil {
		fmt.Fprintf(stderr, "telltale restore: some changes could not be undone (run again once the device is back):\n  %s\n",
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 1
	}
	fmt.Fprintln(stdout, "restored")
	return 0
}

// removeContainer force-removes a proxy container by id; one already gone
// counts as removed.
func removeContainer(ctx context.Context, id string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker: %w (is dockerd running?)", err)
	}
	defer cli.Close()
	_, err = cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}
