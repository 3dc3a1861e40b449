package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/doctor"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/ui"
	"telltale.dev/reports/run"
)

// UI is the device's screen (harness/ui), the driver its actions use, for
// specs that look at the screen themselves.
func (d *Device) UI() *ui.Driver { return actions.UI(d.session) }

// PreflightFile is the doctor's report of a device, in its directory.
const PreflightFile = "preflight.json"

// preflight runs `telltale doctor`'s checks on the leased phone before the
// session changes anything on it. A failed check fails the device's set-up
// with what to tap on the phone, and nothing is touched.
func (d *Device) preflight(ctx context.Context, l lease.Lease) {
	GinkgoHelper()
	srv, err := adb.ParseServer(l.Server)
	Expect(err).NotTo(HaveOccurred())
	rep := doctor.Run(ctx, adb.New(srv), l.Serial, doctor.Options{
		Profiles: []*profiles.Profile{d.slot.Profile}, Progress: GinkgoWriter,
	})
	var text strings.Builder
	Expect(rep.WriteText(&text)).To(Succeed())
	AddReportEntry("preflight", text.String())
	dir := d.suite.writer.DeviceDir(l.Serial)
	Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	f, err := os.Create(filepath.Join(dir, PreflightFile))
	Expect(err).NotTo(HaveOccurred())
	werr := rep.WriteJSON(f)
	Expect(errors.Join(werr, f.Close())).To(Succeed())
	if err := rep.Err(); err != nil {
		Fail(err.Error())
	}
}

// accessPoints sets up the device's access point for its actions before
// the session opens, so that its clean-up (taking down the networks it put
// up) runs after the session's, which forgets them on the phone: a network
// out of range is not in the Settings app's list to be forgotten.
func (d *Device) accessPoints(l lease.Lease) actions.AccessPoint {
	ap := d.accessPoint(l)
	if ap == nil {
		return nil
	}
	t := &trackedAP{AccessPoint: ap}
	DeferCleanup(func(ctx SpecContext) {
		Expect(t.removeAll(ctx)).To(Succeed(), "taking down the access point's networks")
	}, NodeTimeout(time.Minute))
	return t
}

// flowFailure attaches what a failed UI step saw to the spec's report: the
// step and where it is written, its selectors, the hierarchy and a
// screenshot, kept in the device's directory.
func (d *Device) flowFailure(err error) {
	var se *flows.StepError
	if !errors.As(err, &se) {
		return
	}
	AddReportEntry("flow step", fmt.Sprintf("%s > step %d at %s: %s", strings.Join(se.Chain, " > "), se.Index+1, se.Step.Where(), se.Expanded))
	if sels := se.Selectors(); len(sels) > 0 {
		AddReportEntry("selectors", strings.Join(sels, "\n"))
	}
	for _, why := range se.Evidence {
		AddReportEntry("flow evidence", why)
	}
	dir := filepath.Join(d.suite.writer.DeviceDir(d.session.Lease().Serial), "flow-failures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		AddReportEntry("flow evidence", "not kept: "+err.Error())
		return
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%s", run.Slug(CurrentSpecReport().LeafNodeText), time.Now().UTC().Format("150405.000")))
	for _, f := range []struct {
		name, ext string
		data      []byte
	}{
		{"hierarchy", ".xml", screenXML(se.Screen)},
		{"step screenshot", ".png", se.Screenshot},
	} {
		if len(f.data) == 0 {
			continue
		}
		if err := os.WriteFile(base+f.ext, f.data, 0o644); err != nil {
			AddReportEntry(f.name, "not kept: "+err.Error())
			continue
		}
		AddReportEntry(f.name, base+f.ext)
	}
}

func screenXML(sc *ui.Screen) []byte {
	if sc == nil {
		return nil
	}
	return sc.XML
}
