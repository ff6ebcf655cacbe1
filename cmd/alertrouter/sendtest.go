package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
)

type sendTestCmd struct {
	configFile, receiver, status *string
}

func newSendTestCmd(app *kingpin.Application) *sendTestCmd {
	cmd := app.Command("send-test", "Send a sample notification through one receiver and print the outcome.")
	return &sendTestCmd{
		configFile: configFileFlag(cmd, "Configuration file; the embedded default when empty.").String(),
		receiver:   cmd.Flag("receiver", "Receiver to test.").Required().String(),
		status:     cmd.Flag("status", "Status of the sample notification.").Default("firing").Enum("firing", "resolved"),
	}
}

// run exits 0 when the receiver accepted the notification, 1 otherwise, saying whether
// the dispatcher would have retried.
func (c *sendTestCmd) run(stdout, stderr io.Writer) int {
	cfg, err := config.LoadFileOrDefault(*c.configFile)
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %v\n", err)
		return 1
	}
	if _, ok := cfg.Receiver(*c.receiver); !ok {
		fmt.Fprintf(stderr, "FAILED: no receiver named %q in the config\n", *c.receiver)
		return 1
	}
	err = dispatch.SendTest(context.Background(), cfg, *c.receiver, *c.status, stdout)
	var throttled *receivers.ThrottledError
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "OK: %s accepted a %s test notification\n", *c.receiver, *c.status)
		return 0
	case receivers.IsPartial(err):
		fmt.Fprintf(stderr, "PARTIAL (sent, but not to every destination): %v\n", err)
	case errors.As(err, &throttled):
		fmt.Fprintf(stderr, "FAILED (rate limited, would be retried after %s): %v\n", throttled.RetryAfter, err)
	case receivers.IsPermanent(err):
		fmt.Fprintf(stderr, "FAILED (permanent, would not be retried): %v\n", err)
	default:
		fmt.Fprintf(stderr, "FAILED (would be retried): %v\n", err)
	}
	return 1
}
