package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
	"telltale.dev/fixtures/apk"
)

// maxAPK bounds an APK read from the phone's files or streamed on stdin.
const maxAPK = 256 << 20

func (p *Phone) cmdPm(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "usage: pm [list|path|install|uninstall|clear|grant|revoke] ...")
	}
	switch args[1] {
	case "list":
		return p.pmList(sio, args[2:])
	case "path":
		return p.pmPath(sio, args[2:])
	case "install":
		return p.pmInstall(ctx, sio, args[2:])
	case "uninstall":
		return p.pmUninstall(sio, args[2:])
	case "clear":
		return p.pmClear(sio, args[2:])
	case "grant", "revoke", "disable-user", "enable", "set-home-activity":
		return p.pmPackageArg(sio, args[1], args[2:])
	}
	return errf(sio, "Unknown command: %s", args[1])
}

func (p *Phone) pmList(sio shell.IO, args []string) int {
	if len(args) == 0 || args[0] != "packages" {
		return errf(sio, "Error: unknown list type '%s'", strings.Join(args, " "))
	}
	var third, system, withPath, versions, onlyEnabled, onlyDisabled bool
	var filter string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--user" && i+1 < len(args):
			i++
		case a == "--show-versioncode":
			versions = true
		case strings.HasPrefix(a, "-"):
			third = third || strings.Contains(a, "3")
			system = system || strings.Contains(a, "s")
			withPath = withPath || strings.Contains(a, "f")
			onlyEnabled = onlyEnabled || strings.Contains(a, "e")
			onlyDisabled = onlyDisabled || strings.Contains(a, "d")
		default:
			filter = a
		}
	}
	p.mu.Lock()
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(p.packages)) {
		pk := p.packages[name]
		if (third && pk.system) || (system && !pk.system) || (onlyEnabled && pk.disabled) ||
			(onlyDisabled && !pk.disabled) || !strings.Contains(name, filter) {
			continue
		}
		line := "package:" + name
		if withPath {
			line = "package:" + pk.path + "=" + name
		}
		if versions {
			line += " versionCode:" + strconv.Itoa(pk.versionCode)
		}
		lines = append(lines, line)
	}
	p.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintln(sio.Stdout, l)
	}
	return 0
}

func lastOperand(args []string) string {
	for i := len(args) - 1; i >= 0; i-- {
		if !strings.HasPrefix(args[i], "-") && (i == 0 || args[i-1] != "--user") {
			return args[i]
		}
	}
	return ""
}

func (p *Phone) pmPath(sio shell.IO, args []string) int {
	p.mu.Lock()
	pk, ok := p.packages[lastOperand(args)]
	p.mu.Unlock()
	if !ok {
		return 1
	}
	fmt.Fprintln(sio.Stdout, "package:"+pk.path)
	return 0
}

// pmInstall installs from a file on the phone, or from stdin with -S SIZE
// (the streamed form `cmd package install -S` uses).
func (p *Phone) pmInstall(ctx context.Context, sio shell.IO, args []string) int {
	var src string
	size := int64(-1)
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-S" && i+1 < len(args):
			i++
			n, err := strconv.ParseInt(args[i], 10, 64)
			if err != nil || n < 0 || n > maxAPK {
				return errf(sio, "Error: invalid size %q", args[i])
			}
			size = n
		case (a == "-i" || a == "--user" || a == "--install-location" || a == "-p") && i+1 < len(args):
			i++
		case strings.HasPrefix(a, "-"):
		default:
			src = a
		}
	}
	var data []byte
	var err error
	switch {
	case src != "" && src != "-":
		data, err = p.fs.ReadFile(src)
		if err != nil {
			fmt.Fprintf(sio.Stderr, "Error: Unable to open file: %s\nConsider using a file under /data/local/tmp/\n", src)
			fmt.Fprintf(sio.Stdout, "Error: Can't open file: %s\n", src)
			return 1
		}
	case size >= 0:
		data, err = io.ReadAll(io.LimitReader(sio.Stdin, size))
		if err == nil && int64(len(data)) != size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return errf(sio, "Failure [INSTALL_FAILED_INVALID_APK: reading stdin: %v]", err)
		}
	default:
		return errf(sio, "Error: APK content must be streamed with -S SIZE or given as a path")
	}
	m, err := apk.ReadManifest(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		fmt.Fprintf(sio.Stdout, "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse %s: %v]\n", src, err)
		return 1
	}
	if err := ctx.Err(); err != nil {
		return 130
	}
	sum := sha256.Sum256([]byte(m.Package + strconv.Itoa(m.VersionCode)))
	dir := "/data/app/" + m.Package + "-" + base64.RawURLEncoding.EncodeToString(sum[:16])
	if err := p.fs.MkdirAll(dir, 0o755, vfs.RootUID); err != nil {
		return errf(sio, "Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE: %s]", shell.ErrText(err))
	}
	if err := p.fs.WriteFile(dir+"/base.apk", data, 0o644, vfs.RootUID, false); err != nil {
		return errf(sio, "Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE: %s]", shell.ErrText(err))
	}
	p.mu.Lock()
	old, replaced := p.packages[m.Package]
	if replaced && old.system {
		p.mu.Unlock()
		fmt.Fprintf(sio.Stdout, "Failure [INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package %s signatures do not match previously installed version]\n", m.Package)
		return 1
	}
	p.packages[m.Package] = &pkg{path: dir + "/base.apk", versionCode: m.VersionCode}
	p.mu.Unlock()
	if replaced && old.path != dir+"/base.apk" {
		_ = p.fs.Remove(old.path[:strings.LastIndexByte(old.path, '/')], true, vfs.RootUID)
	}
	fmt.Fprintln(sio.Stdout, "Success")
	p.logf("I", "PackageManager", "installed %s %s (%d)", m.Package, m.VersionName, m.VersionCode)
	p.observe(profiles.ActionInstallApp, "com.miui.securitycenter", map[string]string{
		"package": m.Package, "version_name": m.VersionName, "version_code": strconv.Itoa(m.VersionCode),
		"installer": "adb"})
	return 0
}

func (p *Phone) pmUninstall(sio shell.IO, args []string) int {
	name := lastOperand(args)
	forUser := slices.Contains(args, "--user")
	p.mu.Lock()
	pk, ok := p.packages[name]
	if !ok || (pk.system && !forUser) {
		p.mu.Unlock()
		fmt.Fprintln(sio.Stdout, "Failure [DELETE_FAILED_INTERNAL_ERROR]")
		return 1
	}
	delete(p.packages, name)
	if p.fgApp == name {
		p.fgApp = ""
	}
	p.mu.Unlock()
	if !pk.system {
		_ = p.fs.Remove(pk.path[:strings.LastIndexByte(pk.path, '/')], true, vfs.RootUID)
	}
	fmt.Fprintln(sio.Stdout, "Success")
	return 0
}

func (p *Phone) pmClear(sio shell.IO, args []string) int {
	name := lastOperand(args)
	p.mu.Lock()
	_, ok := p.packages[name]
	if ok && p.fgApp == name {
		p.fgApp = ""
	}
	p.mu.Unlock()
	if !ok {
		fmt.Fprintln(sio.Stdout, "Failed")
		return 1
	}
	fmt.Fprintln(sio.Stdout, "Success")
	return 0
}

func (p *Phone) pmPackageArg(sio shell.IO, verb string, args []string) int {
	var name string
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && (i == 0 || args[i-1] != "--user") {
			name = a
			break
		}
	}
	p.mu.Lock()
	pk, ok := p.packages[name]
	if ok && verb == "disable-user" {
		pk.disabled = true
	} else if ok && verb == "enable" {
		pk.disabled = false
	}
	p.mu.Unlock()
	if !ok {
		fmt.Fprintf(sio.Stderr, "Exception occurred while executing '%s':\njava.lang.IllegalArgumentException: Unknown package: %s\n", verb, name)
		return 255
	}
	if verb == "disable-user" || verb == "enable" {
		state := map[string]string{"disable-user": "disabled-user", "enable": "enabled"}[verb]
		fmt.Fprintf(sio.Stdout, "Package %s new state: %s\n", name, state)
	}
	return 0
}

// HasPackage says whether a package is installed.
func (p *Phone) HasPackage(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.packages[name]
	return ok
}

// intent is what `am start` parsed.
type intent struct {
	action, data, mimeType, component, pkg string
	categories                             []string
	extras                                 map[string]string
	boolExtras                             map[string]bool
}

func (in intent) String() string {
	var b strings.Builder
	b.WriteString("Intent {")
	if in.action != "" {
		b.WriteString(" act=" + in.action)
	}
	if len(in.categories) > 0 {
		b.WriteString(" cat=[" + strings.Join(in.categories, ",") + "]")
	}
	if in.data != "" {
		b.WriteString(" dat=" + in.data)
	}
	if in.component != "" {
		b.WriteString(" cmp=" + in.component)
	}
	if len(in.extras)+len(in.boolExtras) > 0 {
		b.WriteString(" (has extras)")
	}
	b.WriteString(" }")
	return b.String()
}

// parseIntent reads Android's intent arguments; unknown flags without values
// are skipped so newer am options do not break the simulated one.
func parseIntent(args []string) (intent, error) {
	in := intent{extras: map[string]string{}, boolExtras: map[string]bool{}}
	need := func(i, n int) error {
		if i+n >= len(args) {
			return fmt.Errorf("Error: Argument expected after \"%s\"", args[i])
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-a", "-d", "-t", "-n", "-c", "-f", "-p", "--user", "-R", "--receiver-permission", "--display", "--windowingMode", "--activityType":
			if err := need(i, 1); err != nil {
				return in, err
			}
			i++
			switch a {
			case "-a":
				in.action = args[i]
			case "-d":
				in.data = args[i]
			case "-t":
				in.mimeType = args[i]
			case "-n":
				in.component = args[i]
			case "-c":
				in.categories = append(in.categories, args[i])
			case "-p":
				in.pkg = args[i]
			}
		case "--ez", "--es", "--ei", "--el", "--ef", "--eu", "--ecn", "--eia", "--esa":
			if err := need(i, 2); err != nil {
				return in, err
			}
			k, v := args[i+1], args[i+2]
			i += 2
			if a == "--ez" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return in, fmt.Errorf("Error: Invalid boolean value for %s: %s", k, v)
				}
				in.boolExtras[k] = b
				continue
			}
			if a == "--ei" {
				if _, err := strconv.Atoi(v); err != nil {
					return in, fmt.Errorf("Error: Invalid int value for %s: %s", k, v)
				}
			}
			in.extras[k] = v
		case "--esn":
			if err := need(i, 1); err != nil {
				return in, err
			}
			i++
			in.extras[args[i]] = ""
		default:
			if strings.HasPrefix(a, "-") {
				continue // -W, -S, --activity-clear-task and friends take no value
			}
			if in.data == "" {
				in.data = a
			}
		}
	}
	return in, nil
}

func (p *Phone) cmdAm(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "usage: am [start|force-stop|broadcast|kill] ...")
	}
	switch args[1] {
	case "start", "start-activity":
		in, err := parseIntent(args[2:])
		if err != nil {
			return errf(sio, "%v", err)
		}
		fmt.Fprintf(sio.Stdout, "Starting: %s\n", in)
		if err := p.startActivity(in); err != nil {
			fmt.Fprintf(sio.Stderr, "%v\n", err)
			return 1
		}
		return 0
	case "force-stop", "kill":
		name := lastOperand(args[2:])
		p.mu.Lock()
		if p.fgApp == name {
			p.fgApp = ""
		}
		p.mu.Unlock()
		return 0
	case "broadcast":
		in, err := parseIntent(args[2:])
		if err != nil {
			return errf(sio, "%v", err)
		}
		fmt.Fprintf(sio.Stdout, "Broadcasting: %s\nBroadcast completed: result=0\n", in)
		return 0
	}
	return errf(sio, "Error: Unknown command: %s", args[1])
}

// startActivity resolves an intent to an installed app, brings it to the
// front and tells telemetry what the user did in it.
func (p *Phone) startActivity(in intent) error {
	br := p.prof.Actions.Browser
	target := in.pkg
	if in.component != "" {
		target, _, _ = strings.Cut(in.component, "/")
	}
	u, _ := url.Parse(in.data)
	web := u != nil && (u.Scheme == "http" || u.Scheme == "https")
	if target == "" && web {
		target = br.Package
	}
	if target == "" || !p.HasPackage(target) {
		return fmt.Errorf("Error: Activity not started, unable to resolve %s", in)
	}
	p.mu.Lock()
	p.fgApp = target
	p.mu.Unlock()
	p.logf("I", "ActivityTaskManager", "START u0 %s", in)
	if target != br.Package || !web {
		p.observe(profiles.ActionOpenApp, target, map[string]string{"package": target})
		return nil
	}
	incognito := false
	for k, v := range in.boolExtras {
		if k == br.IncognitoExtra || (br.IncognitoExtra == "" && strings.Contains(strings.ToLower(k), "incognito")) {
			incognito = v
		}
	}
	values := map[string]string{"url": in.data, "incognito": strconv.FormatBool(incognito)}
	if q := u.Query().Get("q"); q != "" {
		values["search_word"] = q
		p.observe(profiles.ActionSearch, target, values)
		return nil
	}
	action := "browse"
	if incognito {
		action = profiles.ActionBrowseIncognito
	}
	p.observe(action, target, values)
	return nil
}

func (p *Phone) cmdMonkey(_ context.Context, sio shell.IO, args []string) int {
	var pkgs []string
	for i := 1; i < len(args); i++ {
		if args[i] == "-p" && i+1 < len(args) {
			pkgs = append(pkgs, args[i+1])
			i++
		}
	}
	var target string
	for _, name := range pkgs {
		if p.HasPackage(name) {
			target = name
			break
		}
	}
	if target == "" {
		fmt.Fprintln(sio.Stdout, "** No activities found to run, monkey aborted.")
		return 252
	}
	fmt.Fprintf(sio.Stdout, "  bash arg: -p\n  bash arg: %s\nEvents injected: 1\n## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)\n", target)
	p.mu.Lock()
	p.fgApp = target
	p.mu.Unlock()
	p.observe(profiles.ActionOpenApp, target, map[string]string{"package": target})
	return 0
}
