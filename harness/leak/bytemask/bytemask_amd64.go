package bytemask

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

// masksAVX2 computes the masks of blocks 64-byte blocks from b.
//
//go:noescape
func masksAVX2(b *byte, blocks int, b64, special, quote *uint64)
