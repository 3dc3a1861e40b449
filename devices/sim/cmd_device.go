package sim

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

var inputCommands = map[string]bool{"tap": true, "swipe": true, "text": true, "keyevent": true, "press": true, "roll": true}

// Key codes the simulated phone reacts to.
var keyCodes = map[string]int{
	"KEYCODE_HOME": 3, "KEYCODE_BACK": 4, "KEYCODE_POWER": 26, "KEYCODE_MENU": 82,
	"KEYCODE_SLEEP": 223, "KEYCODE_WAKEUP": 224, "KEYCODE_ENTER": 66,
}

func (p *Phone) cmdInput(_ context.Context, sio shell.IO, args []string) int {
	args = args[1:]
	// An input source ("touchscreen", "keyboard") may come first.
	if len(args) > 1 && !inputCommands[args[0]] {
		args = args[1:]
	}
	if len(args) == 0 {
		return errf(sio, "Usage: input [<source>] <command> [<arg>...]")
	}
	nums := func(want int) bool {
		if len(args)-1 < want {
			return false
		}
		for _, a := range args[1 : want+1] {
			if _, err := strconv.ParseFloat(a, 64); err != nil {
				return false
			}
		}
		return true
	}
	switch args[0] {
	case "tap":
		if !nums(2) {
			return errf(sio, "Error: Invalid arguments for command: tap\nUsage: input tap <x> <y>")
		}
	case "swipe":
		if !nums(4) {
			return errf(sio, "Error: Invalid arguments for command: swipe\nUsage: input swipe <x1> <y1> <x2> <y2> [duration(ms)]")
		}
	case "text":
		if len(args) < 2 {
			return errf(sio, "Error: Invalid arguments for command: text")
		}
		p.logf("I", "Input", "text %q", strings.ReplaceAll(strings.Join(args[1:], " "), "%s", " "))
	case "keyevent", "press":
		keys := args[1:]
		if args[0] == "press" {
			keys = []string{"KEYCODE_DPAD_CENTER"}
		}
		for _, k := range keys {
			if strings.HasPrefix(k, "--") {
				continue
			}
			code, ok := keyCodes[k]
			if !ok {
				n, err := strconv.Atoi(k)
				if err != nil && !strings.HasPrefix(k, "KEYCODE_") {
					return errf(sio, "Error: Unknown keycode: %s", k)
				}
				code = n
			}
			p.key(code)
		}
	default:
		return errf(sio, "Error: Unknown command: %s", args[0])
	}
	return 0
}

// key applies one key press: power toggles the screen, and turning it off is
// a screen lock that MIUI reports.
func (p *Phone) key(code int) {
	p.mu.Lock()
	wasOn := p.screenOn
	switch code {
	case 26:
		p.screenOn = !p.screenOn
	case 223:
		p.screenOn = false
	case 224, 82:
		p.screenOn = true
	case 3:
		p.fgApp = p.prof.Actions.Launcher
	}
	locked := wasOn && !p.screenOn
	p.mu.Unlock()
	p.logf("I", "PowerManager", "key %d screenOn=%v", code, !locked && wasOn)
	if locked {
		p.observe(profiles.ActionLockScreen, "com.android.systemui", map[string]string{})
	}
}

func (p *Phone) resetBattery() {
	p.battery = battery{level: 76, status: batteryDischarging}
}

func (p *Phone) plugged() string {
	switch b := p.battery; {
	case b.ac:
		return "ac"
	case b.usb:
		return "usb"
	case b.wireless:
		return "wireless"
	}
	return ""
}

func (p *Phone) cmdDumpsys(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "dumpsys: which service? (battery, power, wifi, activity, window)")
	}
	switch args[1] {
	case "battery":
		return p.dumpsysBattery(sio, args[2:])
	case "power":
		p.mu.Lock()
		w := map[bool]string{true: "Awake", false: "Asleep"}[p.screenOn]
		p.mu.Unlock()
		fmt.Fprintf(sio.Stdout, "POWER MANAGER (dumpsys power)\n  mWakefulness=%s\n  mHoldingDisplaySuspendBlocker=%v\n", w, w == "Awake")
	case "wifi":
		wifi, ssid := p.Network()
		fmt.Fprintf(sio.Stdout, "Wi-Fi is %s\nmWifiInfo SSID: \"%s\", Supplicant state: %s\n",
			map[bool]string{true: "enabled", false: "disabled"}[p.wifiEnabled()], ssid,
			map[bool]string{true: "COMPLETED", false: "DISCONNECTED"}[wifi])
	case "activity", "window":
		p.mu.Lock()
		fg := p.fgApp
		p.mu.Unlock()
		fmt.Fprintf(sio.Stdout, "  mResumedActivity: ActivityRecord{1a2b3c u0 %s/.Main t7}\n  mCurrentFocus=Window{4d5e6f u0 %s/.Main}\n", fg, fg)
	default:
		fmt.Fprintf(sio.Stderr, "Can't find service: %s\n", args[1])
	}
	return 0
}

func (p *Phone) wifiEnabled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wifiOn
}

func (p *Phone) dumpsysBattery(sio shell.IO, args []string) int {
	p.mu.Lock()
	if len(args) == 0 {
		b := p.battery
		p.mu.Unlock()
		if b.overridden {
			fmt.Fprintln(sio.Stdout, "Current Battery Service state:\n  (UPDATES STOPPED -- use 'reset' to restart)")
		} else {
			fmt.Fprintln(sio.Stdout, "Current Battery Service state:")
		}
		fmt.Fprintf(sio.Stdout, "  AC powered: %v\n  USB powered: %v\n  Wireless powered: %v\n  Max charging current: 0\n  Max charging voltage: 0\n  Charging counter: %d\n  status: %d\n  health: 2\n  present: true\n  level: %d\n  scale: 100\n  voltage: 4012\n  temperature: 290\n  technology: Li-poly\n",
			b.ac, b.usb, b.wireless, b.level*40000, b.status, b.level)
		return 0
	}
	var report bool
	switch verb := args[0]; {
	case verb == "set" && len(args) == 3:
		v, err := strconv.Atoi(args[2])
		if err != nil {
			p.mu.Unlock()
			return errf(sio, "Bad value: %s", args[2])
		}
		on := v != 0
		switch args[1] {
		case "ac":
			p.battery.ac, report = on, on
		case "usb":
			p.battery.usb, report = on, on
		case "wireless":
			p.battery.wireless, report = on, on
		case "level":
			if v < 0 || v > 100 {
				p.mu.Unlock()
				return errf(sio, "Bad value: %s (level is 0-100)", args[2])
			}
			p.battery.level = v
			report = p.plugged() != ""
		case "status":
			p.battery.status = v
		case "present", "counter", "invalid":
		default:
			p.mu.Unlock()
			return errf(sio, "Unknown set option: %s", args[1])
		}
		p.battery.overridden = true
		if args[1] != "status" {
			p.battery.status = batteryDischarging
			if p.plugged() != "" {
				p.battery.status = batteryCharging
				if p.battery.level == 100 {
					p.battery.status = batteryFull
				}
			}
		}
	case verb == "unplug":
		p.battery.ac, p.battery.usb, p.battery.wireless = false, false, false
		p.battery.status = batteryDischarging
		p.battery.overridden = true
	case verb == "reset":
		p.resetBattery()
	default:
		p.mu.Unlock()
		return errf(sio, "Battery service dump options:\n  [-a] [-h] [set ac|usb|wireless|level|status|present|counter|invalid VALUE] [unplug] [reset]")
	}
	values := map[string]string{"plugged": p.plugged(), "level": strconv.Itoa(p.battery.level)}
	p.mu.Unlock()
	if report {
		_, ssid := p.Network()
		values["ssid"] = ssid
		p.observe(profiles.ActionCharge, "com.miui.powerkeeper", values)
	}
	return 0
}

func (p *Phone) cmdSvc(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 3 {
		return errf(sio, "usage: svc [wifi|data|power|usb] ...")
	}
	if args[1] == "wifi" {
		switch args[2] {
		case "enable":
			p.setWifi(true)
		case "disable":
			p.setWifi(false)
		default:
			return errf(sio, "usage: svc wifi [enable|disable]")
		}
	}
	return 0
}

func (p *Phone) setWifi(on bool) {
	p.mu.Lock()
	p.wifiOn = on
	// The joined network is kept: turning Wi-Fi back on reconnects to it.
	p.settings["global"]["wifi_on"] = map[bool]string{true: "1", false: "0"}[on]
	p.mu.Unlock()
}

func (p *Phone) cmdCmd(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "cmd: No service specified; use -l to list all running services")
	}
	rest := append([]string{args[1]}, args[2:]...)
	switch args[1] {
	case "package":
		return p.cmdPm(ctx, sio, rest)
	case "activity":
		return p.cmdAm(ctx, sio, rest)
	case "settings":
		return p.cmdSettings(ctx, sio, rest)
	case "wifi":
		return p.cmdWifi(sio, args[2:])
	}
	fmt.Fprintf(sio.Stderr, "cmd: Can't find service: %s\n", args[1])
	return 20
}

func (p *Phone) cmdWifi(sio shell.IO, args []string) int {
	if len(args) == 0 {
		return errf(sio, "usage: cmd wifi [status|connect-network|set-wifi-enabled] ...")
	}
	switch args[0] {
	case "status":
		wifi, ssid := p.Network()
		if !p.wifiEnabled() {
			fmt.Fprintln(sio.Stdout, "Wifi is disabled")
			return 0
		}
		fmt.Fprintln(sio.Stdout, "Wifi is enabled")
		if wifi {
			fmt.Fprintf(sio.Stdout, "Wifi is connected to \"%s\"\n", ssid)
		} else {
			fmt.Fprintln(sio.Stdout, "Wifi is not connected")
		}
	case "connect-network":
		if len(args) < 3 {
			return errf(sio, "Error: usage: connect-network <ssid> open|owe|wpa2|wpa3 [<passphrase>]")
		}
		if args[2] != "open" && args[2] != "owe" && len(args) < 4 {
			return errf(sio, "Error: %s networks need a passphrase", args[2])
		}
		if !p.wifiEnabled() {
			return errf(sio, "Error: Wi-Fi is disabled; run svc wifi enable first")
		}
		p.SetSSID(args[1])
		fmt.Fprintln(sio.Stdout, "Connection initiated")
		p.observe(profiles.ActionConnectWifi, "com.android.settings", map[string]string{"ssid": args[1]})
	case "set-wifi-enabled":
		if len(args) < 2 {
			return errf(sio, "Error: usage: set-wifi-enabled enabled|disabled")
		}
		p.setWifi(args[1] == "enabled")
	default:
		return errf(sio, "Error: unknown wifi command %s", args[0])
	}
	return 0
}

// cmdScreencap draws the screen: black when off, else a colour from the
// foreground app, so two screenshots differ when the app does.
func (p *Phone) cmdScreencap(ctx context.Context, sio shell.IO, args []string) int {
	p.mu.Lock()
	on, fg := p.screenOn, p.fgApp
	p.mu.Unlock()
	fill := color.RGBA{A: 255}
	if on {
		h := 0
		for _, c := range fg {
			h = h*31 + int(c)
		}
		fill = color.RGBA{R: uint8(h), G: uint8(h >> 8), B: uint8(h>>16) | 0x40, A: 255}
	}
	img := image.NewPaletted(image.Rect(0, 0, 1080, 2340), color.Palette{fill, color.White})
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return errf(sio, "screencap: %v", err)
	}
	_, ops := splitFlags(args[1:])
	if len(ops) > 0 {
		if err := p.fs.WriteFile(ops[0], buf.Bytes(), 0o644, p.uid(ctx), false); err != nil {
			return errf(sio, "screencap: %s: %s", ops[0], shell.ErrText(err))
		}
		return 0
	}
	_, _ = sio.Stdout.Write(buf.Bytes())
	return 0
}

func (p *Phone) cmdLogcat(_ context.Context, sio shell.IO, args []string) int {
	flags, _ := splitFlags(args[1:])
	p.mu.Lock()
	lines := append([]string(nil), p.logbuf...)
	if flags['c'] {
		p.logbuf = nil
	}
	p.mu.Unlock()
	if flags['c'] {
		return 0
	}
	fmt.Fprintln(sio.Stdout, "--------- beginning of main")
	for _, l := range lines {
		fmt.Fprintln(sio.Stdout, l)
	}
	return 0
}

// RebootDowntime is how long a rebooting phone stays off the bus.
const RebootDowntime = 2 * time.Second

func (p *Phone) cmdReboot(_ context.Context, _ shell.IO, args []string) int {
	p.Reboot(strings.Join(args[1:], " "))
	p.mu.Lock()
	t, downtime := p.tunnel, p.downtime
	p.mu.Unlock()
	if t != nil {
		// Let the command's exit status reach the host before the link drops.
		time.AfterFunc(50*time.Millisecond, func() { t.Disconnect(downtime) })
	}
	return 0
}

// Reboot implements adbd.Rebooter: mounts, root and the screen come back as
// at boot. The transport (or the reboot command) takes the phone off the bus.
func (p *Phone) Reboot(target string) {
	p.fs.Reboot()
	p.mu.Lock()
	p.root = false
	p.screenOn = true
	p.fgApp = ""
	p.resetBattery()
	p.mu.Unlock()
	p.logf("I", "ShutdownThread", "rebooting %s", target)
}

// cmdSu runs a command as root where the phone has su: userdebug images
// (`su 0 CMD...`) and rooted phones (Magisk's `su -c 'CMD'`).
func (p *Phone) cmdSu(ctx context.Context, sio shell.IO, args []string) int {
	if !p.hasSu() {
		fmt.Fprintf(sio.Stderr, "/system/bin/sh: %s: not found\n", args[0])
		return shell.ExitNotFound
	}
	args = args[1:]
	if len(args) > 0 && (args[0] == "0" || args[0] == "root") {
		args = args[1:]
	}
	ctx = context.WithValue(ctx, asRoot{}, true)
	switch {
	case len(args) >= 2 && args[0] == "-c":
		return p.sh.Run(ctx, strings.Join(args[1:], " "), sio)
	case len(args) > 0:
		return p.sh.Exec(ctx, sio, args)
	}
	return p.sh.Exec(ctx, sio, []string{"sh"})
}

func (p *Phone) hasSu() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prof.Root || !p.unrooted
}

// SetUnrooted removes su from a phone whose profile has no root: an
// unrooted retail phone, where the harness can only use the user CA store.
func (p *Phone) SetUnrooted(unrooted bool) {
	p.mu.Lock()
	p.unrooted = unrooted
	p.mu.Unlock()
}

// asRoot marks a context whose commands run as root (under su).
type asRoot struct{}

func (p *Phone) uid(ctx context.Context) uint32 {
	if v, _ := ctx.Value(asRoot{}).(bool); v {
		return vfs.RootUID
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.root {
		return vfs.RootUID
	}
	return vfs.ShellUID
}
