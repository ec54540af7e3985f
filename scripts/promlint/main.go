// promlint: the checks of `promtool check metrics` (client_golang's promlint) over a Prometheus
// text exposition read from stdin. Prints one problem per line and exits 1 if there is any.
// Used by test/integration/api.test.ts on Sluice's GET /metrics.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func main() {
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error parsing metrics:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Printf("%s: %s\n", p.Metric, p.Text)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}
