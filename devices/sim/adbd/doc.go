// Package adbd is the device side of the adb transport: it accepts the adb
// server's TCP connection the way an emulator's adbd does, and serves shell,
// sync, reverse, root, reboot, framebuffer, socket, jdwp and abb services
// from a Device and the optional interfaces it implements (Rebooter,
// Display, Sockets).
//
// Usage, as a test would (httptest-style):
//
//	srv, err := adbd.Listen("127.0.0.1:0", phone, adbd.WithLogger(logger))
//	if err != nil { ... }
//	defer srv.Close()
//	phone.SetTunnel(srv) // *Server is the phone's Tunnel
//	// `adb connect <srv.Addr()>`: the serial is srv.Addr(); the state turns
//	// "device" and `adb devices -l` shows the banner's product, model, device.
//
// What it speaks, checked against Debian's adb 29:
//   - CNXN without AUTH (emulator style), replying with Device.Banner and
//     offering 1 MiB payloads; the smaller of both sides' maxdata is used.
//   - Streams (OPEN/OKAY/WRTE/CLSE), many at once, one WRTE in flight per
//     direction. Host writes are acked at once into an empty stream buffer
//     and otherwise when the service has read them, so a stream buffers at
//     most two payloads.
//   - shell,v2,...:CMD (stdin, stdout, stderr, exit, close-stdin; pty turns
//     \n into \r\n and merges stderr), legacy shell:CMD and exec:CMD (one
//     output channel, no exit code; exec: also carries stdin).
//   - sync: STAT, STA2, LST2, LIST, LIS2, SEND, RECV, QUIT, with FAIL texts
//     in bionic's strerror wording ("No such file or directory").
//   - reverse:forward[:norebind], list-forward, killforward(-all), with
//     tcp:0 allocation. Rules belong to the adb connection that made them
//     and vanish with it. DialReverse opens a device stream only for a
//     registered rule, on the connection that holds it: adb 29 exits when a
//     device opens any other target.
//   - root: (Device.Root; a restart drops every connection) and reboot:
//     (Rebooter is told, then the phone is off the bus for the reboot
//     downtime, accepting and dropping connections).
//   - framebuffer: (ddmlib's getScreenshot): AOSP's version 2 header
//     (with colorSpace, sent since Android 9) and RGBA_8888 pixels of the
//     optional Display's screenshot; without one the stream just ends.
//   - tcp:PORT, localabstract:, localreserved:, localfilesystem: (`adb
//     forward`, ddmlib's createForward): spliced to the optional Sockets'
//     connection; refused (CLSE) when nothing listens or there is no
//     Sockets, as adbd refuses when its connect fails. What a host client
//     sends together with its FIN before the OKAY to the adb server's
//     OPEN never arrives: the adb server drops it (Debian's adb 29.0.6
//     sends OPEN, gets OKAY, sends CLSE without WRTE), with a real phone
//     as with this one.
//   - jdwp (the list, then the end) and track-jdwp (a live,
//     length-prefixed list): empty, as on a phone without debuggable apps;
//     jdwp:PID is refused.
//   - abb_exec: and abb: (what adb 29 uses for installs when the banner
//     advertises abb_exec, as Android 10's adbd does): run as `cmd SERVICE
//     ARG...` through Device.Exec.
//
// A malformed packet (bad magic, oversized payload, unknown command) is
// logged and closes only the connection that sent it.
package adbd
