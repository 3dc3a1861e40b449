package scenarios

import (
	"flag"
	"testing"

	"telltale.dev/harness/framework"
)

// The suite's flags: `go tool ginkgo -r scenarios -- --devices=...`, or
// through `telltale run`, which defines the same ones.
func init() { framework.RegisterFlags(flag.CommandLine) }

// families are the action families, one per file; each adds its specs to
// every device's container.
var families []framework.Spec

func family(f framework.Spec) bool {
	families = append(families, f)
	return true
}

func TestScenarios(t *testing.T) {
	framework.RunSuite(t, "telltale scenarios", families...)
}
