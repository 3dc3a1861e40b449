// Package recall holds telltale's end-to-end recall test: a simulated phone of
// each firmware, connected to the real adb server and sending through the
// recording proxy's container, is driven through every user action with fresh
// canaries, and the leak detector's findings are compared with the phone's
// ground-truth log, event for event. It has no code besides its tests.
package recall
