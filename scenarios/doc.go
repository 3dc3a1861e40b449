// Package scenarios holds the Ginkgo suites that drive each leased phone
// through user actions and assert what each one leaks, against the known
// leaks of the phone's firmware (its profile) or, with --policy strict,
// against none at all. It holds only specs, one file per action family:
// devices, flags, set-up, expectations and recording come from
// telltale.dev/harness/framework.
package scenarios
