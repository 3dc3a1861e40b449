package scenarios

import (
	"context"
	"flag"

	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/harness/proxy"
	"telltale.dev/harness/session"
)

var flagInProcess = flag.Bool("in-process-proxy", false, "run each device's proxy inside the suite process instead of a container (no Docker engine)")

// buildProxyImage builds (or finds, by content hash) the proxy image once
// per run, in process 1.
func buildProxyImage(ctx context.Context) (string, error) {
	if *flagInProcess {
		return "in-process", nil
	}
	return proxy.BuildImage(ctx)
}

// startProxy starts this device's own proxy container from the run's image,
// intercepting with the run's CA, its flow log kept in the run directory,
// under the name the session journaled.
func startProxy(ctx context.Context, flowDir, name string) (session.Recorder, error) {
	if *flagInProcess {
		return proxy.StartInProcess(ctx, proxy.WithCA(suite.CACert, suite.CAKey), proxy.WithMode(proxy.Sinkhole), proxy.WithFlowDir(flowDir))
	}
	return proxy.Run(ctx, suite.Image, proxy.WithCA(suite.CACert, suite.CAKey), proxy.WithMode(proxy.Sinkhole),
		proxy.WithFlowDir(flowDir), testcontainers.WithName(name))
}
