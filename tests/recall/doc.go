// Package recall holds telltale's end-to-end recall test: a simulated phone of
// each firmware, leased in a harness session on a real adb server and sending
// through the recording proxy's container at its SDKs' own pace, goes through
// every user action as the harness does it (telltale.dev/harness/actions) with
// fresh canaries, and the leak detector's findings in the session's flow log
// are compared with the phone's ground-truth log, upload for upload. It has no
// code besides its tests.
package recall
