// Package ddmlibtest runs ddmlib, the adb library of Android Studio and
// Tradefed, against a device behind a test's adb server, so that tests can
// see what such tools make of a simulated phone. It compiles a small Java
// driver (Driver.java) against Debian's ddmlib 25.2.2 and runs one
// operation per call: screenshot, shell, install, install-multiple.
package ddmlibtest

import (
	"bytes"
	"context"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

//go:embed Driver.java
var driverSource []byte

// Jars are Debian's libandroid-ddms-java and what it needs at run time.
var Jars = []string{
	"/usr/share/java/com.android.tools.ddms.ddmlib.jar",
	"/usr/share/java/com.android.tools.common.jar",
	"/usr/share/java/guava.jar",
	"/usr/share/java/kxml2.jar",
}

// Driver is the compiled driver.
type Driver struct {
	java      string
	classpath string
}

// Compile builds the driver in a temporary directory. The test fails, not
// skips, when Java or ddmlib is missing: the point is the real library.
func Compile(t testing.TB) *Driver {
	t.Helper()
	javac, err := exec.LookPath("javac")
	if err != nil {
		t.Fatalf("javac not found (%v): install a JDK (`apt-get install default-jdk-headless`, or `make deps`)", err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found (%v): install a JDK (`make deps`)", err)
	}
	for _, jar := range Jars {
		if _, err := os.Stat(jar); err != nil {
			t.Fatalf("%v: install Debian's ddmlib with `apt-get install libandroid-ddms-java` (or `make deps`)", err)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "Driver.java")
	if err := os.WriteFile(src, driverSource, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := strings.Join(Jars, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, javac, "-nowarn", "-d", dir, "-cp", cp, src).CombinedOutput(); err != nil {
		t.Fatalf("compiling the ddmlib driver: %v\n%s", err, out)
	}
	return &Driver{java: java, classpath: dir + ":" + cp}
}

// Result is what one run printed: the outcome on stdout, ddmlib's log.
type Result struct {
	Out string
	Log string
}

// Run runs the driver's command against serial on the adb server listening
// on port. A driver that fails or times out fails the test, with ddmlib's
// log.
func (d *Driver) Run(t testing.TB, port, serial, command string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.java, append([]string{"-cp", d.classpath, "Driver", serial, command}, args...)...)
	cmd.Env = append(os.Environ(), "ANDROID_ADB_SERVER_PORT="+port)
	var out, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &log
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ddmlib %s timed out; its log:\n%s", command, log.String())
	}
	if err != nil {
		t.Fatalf("ddmlib %s: %v\nstdout:\n%s\nlog:\n%s", command, err, out.String(), log.String())
	}
	return Result{Out: out.String(), Log: log.String()}
}
