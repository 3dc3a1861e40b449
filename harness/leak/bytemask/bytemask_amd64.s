#include "textflag.h"

// Base64 characters by nibble (the usual VPSHUFB test): a byte is one when
// lo[its low nibble] & hi[its high nibble] != 0. The bits group the high
// nibbles: 1 for 0x2_ (+ - /), 2 for 0x3_ (digits), 4 for 0x4_ and 0x6_
// (A-O, a-o), 8 for 0x5_ and 0x7_ (P-Z, p-z), 16 for '_'. Each table is
// repeated for both 128-bit lanes.
DATA lo<>+0x00(SB)/8, $0x0e0e0e0e0e0e0e0a
DATA lo<>+0x08(SB)/8, $0x15040504050c0e0e
DATA lo<>+0x10(SB)/8, $0x0e0e0e0e0e0e0e0a
DATA lo<>+0x18(SB)/8, $0x15040504050c0e0e
GLOBL lo<>(SB), RODATA|NOPTR, $32

DATA hi<>+0x00(SB)/8, $0x0804180402010000
DATA hi<>+0x08(SB)/8, $0x0000000000000000
DATA hi<>+0x10(SB)/8, $0x0804180402010000
DATA hi<>+0x18(SB)/8, $0x0000000000000000
GLOBL hi<>(SB), RODATA|NOPTR, $32

DATA nibble<>+0x00(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+0x08(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+0x10(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+0x18(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibble<>(SB), RODATA|NOPTR, $32

// func masksAVX2(b *byte, blocks int, b64, special, quote *uint64)
TEXT ·masksAVX2(SB), NOSPLIT, $0-40
	MOVQ b+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ b64+16(FP), DI
	MOVQ special+24(FP), R8
	MOVQ quote+32(FP), R9
	VMOVDQU lo<>(SB), Y10
	VMOVDQU hi<>(SB), Y11
	VMOVDQU nibble<>(SB), Y12
	VPXOR Y13, Y13, Y13
	MOVL $0x5c, AX // backslash
	MOVQ AX, X6
	VPBROADCASTB X6, Y6
	MOVL $0x25, AX // %
	MOVQ AX, X7
	VPBROADCASTB X7, Y7
	MOVL $0x2b, AX // +
	MOVQ AX, X8
	VPBROADCASTB X8, Y8
	MOVL $0x3d, AX // =
	MOVQ AX, X9
	VPBROADCASTB X9, Y9
	MOVL $0x22, AX // "
	MOVQ AX, X14
	VPBROADCASTB X14, Y14

loop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	// Base64 characters: not-in-class bytes compare equal to zero.
	VPSRLW $4, Y0, Y2
	VPAND Y12, Y2, Y2
	VPAND Y12, Y0, Y3
	VPSHUFB Y2, Y11, Y2
	VPSHUFB Y3, Y10, Y3
	VPAND Y2, Y3, Y2
	VPCMPEQB Y13, Y2, Y2
	VPMOVMSKB Y2, AX

	VPSRLW $4, Y1, Y4
	VPAND Y12, Y4, Y4
	VPAND Y12, Y1, Y5
	VPSHUFB Y4, Y11, Y4
	VPSHUFB Y5, Y10, Y5
	VPAND Y4, Y5, Y4
	VPCMPEQB Y13, Y4, Y4
	VPMOVMSKB Y4, BX

	SHLQ $32, BX
	ORQ BX, AX
	NOTQ AX
	MOVQ AX, (DI)

	// Special bytes.
	VPCMPEQB Y6, Y0, Y2
	VPCMPEQB Y7, Y0, Y3
	VPOR Y3, Y2, Y2
	VPCMPEQB Y8, Y0, Y3
	VPOR Y3, Y2, Y2
	VPCMPEQB Y9, Y0, Y3
	VPOR Y3, Y2, Y2
	VPMOVMSKB Y2, AX

	VPCMPEQB Y6, Y1, Y4
	VPCMPEQB Y7, Y1, Y5
	VPOR Y5, Y4, Y4
	VPCMPEQB Y8, Y1, Y5
	VPOR Y5, Y4, Y4
	VPCMPEQB Y9, Y1, Y5
	VPOR Y5, Y4, Y4
	VPMOVMSKB Y4, BX

	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (R8)

	// Quotes.
	VPCMPEQB Y14, Y0, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y14, Y1, Y4
	VPMOVMSKB Y4, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, (R9)

	ADDQ $64, SI
	ADDQ $8, DI
	ADDQ $8, R8
	ADDQ $8, R9
	DECQ CX
	JNZ loop

	VZEROUPPER
	RET
