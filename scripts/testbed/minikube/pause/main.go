// The pause container of every pod sandbox (what registry.k8s.io/pause does): hold the pod's namespaces,
// reap orphans (it is PID 1 when the pod shares its PID namespace) and exit at once on SIGTERM or SIGINT.
// Built here because no image can be pulled; test bed only.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s == syscall.SIGCHLD {
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
