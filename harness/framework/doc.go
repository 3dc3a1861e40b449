// Package framework is what telltale suites import, in the shape of
// Kubernetes' test/e2e/framework: the suite's flags (one definition, shared
// with `telltale run`), its set-up (the run directory, the run's CA, the
// proxy image, simulated phones on a private adb server), and one Device per
// phone under test, created with its Ordered container and prepared in its
// BeforeAll, with everything a spec needs hanging off it: the session, the
// canaries, the expectations of the run's policy, and the run directory its
// results and evidence go to. Clean-up is registered with DeferCleanup.
//
// A suite holds only specs:
//
//	func init() { framework.RegisterFlags(flag.CommandLine) }
//
//	func TestMySuite(t *testing.T) {
//		framework.RunSuite(t, "my suite", func(d *framework.Device) {
//			It("incognito browsing "+d.Title(profiles.ActionBrowseIncognito, "the URL"), func(ctx SpecContext) {
//				c := d.Canaries().URL(d.CanaryID("url"))
//				r := d.Act(ctx, profiles.ActionBrowseIncognito, "", func() (*actions.Result, error) {
//					return actions.BrowseIncognito(ctx, d.Session(), c)
//				})
//				d.Expect(ctx, r)
//			}, framework.ActionTimeout)
//		})
//	}
//
// Act runs the action in a window of the device's flow log that ends as
// soon as what the action is expected to send has come (else at
// --window-timeout), and records the result in the run directory when the
// spec ends, with the spec's final state, so what is recorded is what was
// asserted; Expect asserts it under --policy: the exact routes of the
// firmware's known leaks per canary, or for an action that plants nothing
// the exact traffic the firmware's profile says it sends.
//
// Leaks are attributed by canary, not by time (telltale.dev/harness/
// attribution): a canary that arrives after its window, in a batched
// upload, is still its action's. Each device's container ends with a sweep
// spec that nudges the phone, waits until its telemetry queues drain (one
// flush interval on a real phone), records every late leak against its
// action ("late", with its delay) and asserts it under that action's
// policy. With --pipeline the actions run back to back and the sweep waits
// once for all of them.
package framework
