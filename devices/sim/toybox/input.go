package toybox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"

	"telltale.dev/devices/sim/shell"
)

// errStop ends reading early without an error (head has what it needs).
var errStop = errors.New("stop")

// open reads a file operand; "-" is stdin, as in toybox's loopfiles.
func (b *box) open(ctx context.Context, sio shell.IO, name string) (io.Reader, error) {
	if name == "-" {
		return sio.Stdin, nil
	}
	data, err := b.fs.ReadFile(shell.Abs(ctx, name))
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(data), nil
}

// inputs calls fn on each operand's contents, stdin when there are none,
// printing "APPLET: NAME: error" for those it cannot read; the status is
// 1 when any failed.
func (b *box) inputs(ctx context.Context, sio shell.IO, applet string, names []string, fn func(name string, r io.Reader) error) int {
	if len(names) == 0 {
		names = []string{"-"}
	}
	status := 0
	for _, n := range names {
		r, err := b.open(ctx, sio, n)
		if err == nil {
			err = fn(n, r)
		}
		if errors.Is(err, errStop) {
			continue
		}
		if err != nil {
			status = failErr(sio, applet, n, err)
		}
	}
	return status
}

// eachLine calls fn with every line of r, its newline kept (the last line
// may lack one), until fn returns an error.
func eachLine(r io.Reader, fn func(line string) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readAll reads all of r with a bound, so a runaway producer cannot make
// sort or tail hold more than a phone's worth of memory.
func readAll(r io.Reader) ([]byte, error) {
	const limit = 64 << 20
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if len(data) > limit {
		return nil, errors.New("input too large for the simulated phone (64 MiB)")
	}
	return data, err
}
