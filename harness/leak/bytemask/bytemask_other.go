//go:build !amd64

package bytemask

const hasAVX2 = false

func masksAVX2(b *byte, blocks int, b64, special, quote *uint64) { panic("unreachable") }
