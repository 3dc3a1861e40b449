package adbd

import "io"

// Test hooks: raw-client tests in package adbd_test speak the packet format
// through the real codec.

const (
	MaxPayload = maxPayload
	CmdCNXN    = cmdCNXN
	CmdOPEN    = cmdOPEN
	CmdOKAY    = cmdOKAY
	CmdWRTE    = cmdWRTE
	CmdCLSE    = cmdCLSE
)

func EncodePacket(cmd, arg0, arg1 uint32, data []byte) []byte {
	return packet{cmd: cmd, arg0: arg0, arg1: arg1, data: data}.encode()
}

func ReadPacket(r io.Reader) (cmd, arg0, arg1 uint32, data []byte, err error) {
	p, err := readPacket(r, MaxPayload)
	return p.cmd, p.arg0, p.arg1, p.data, err
}
