// Package registry is the table of receiver integrations. Each entry names the YAML key
// of its integration, makes an empty config to decode into and builds the receiver from a
// validated one. Config decoding and validation, `config check`, `send-test` and the
// dispatcher all read this one table: adding an integration is one package under
// receivers/ and one line here (registry_test fails when a package is missing).
package registry

import (
	"fmt"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/aliyuncms"
	"github.com/alertrouter/alertrouter/receivers/dingtalk"
	"github.com/alertrouter/alertrouter/receivers/email"
	"github.com/alertrouter/alertrouter/receivers/feishu"
	logrcv "github.com/alertrouter/alertrouter/receivers/log"
	"github.com/alertrouter/alertrouter/receivers/slack"
	"github.com/alertrouter/alertrouter/receivers/webhook"
	"github.com/alertrouter/alertrouter/receivers/wecom"
)

// Integration is one entry of the table.
type Integration struct {
	// Key is the integration's key in a receiver's YAML, as in `slack:`.
	Key string
	// NewConfig returns an empty config of the integration's type, to decode into.
	NewConfig func() receivers.Config
	// Build makes the receiver for a validated config made by NewConfig.
	Build func(receivers.Config, receivers.Env) receivers.Receiver
}

// integrations is the table, in the order messages list the keys.
var integrations = []Integration{
	entry("log", func(c *logrcv.Config, env receivers.Env) receivers.Receiver { return logrcv.New(c, env.Stdout) }),
	entry("webhook", func(c *webhook.Config, env receivers.Env) receivers.Receiver { return webhook.New(c, env.Templates) }),
	entry("slack", func(c *slack.Config, env receivers.Env) receivers.Receiver { return slack.New(c, env.Templates) }),
	entry("email", func(c *email.Config, env receivers.Env) receivers.Receiver { return email.New(c, env.Templates) }),
	entry("aliyun_cms", func(c *aliyuncms.Config, env receivers.Env) receivers.Receiver {
		return aliyuncms.New(c, env.Templates, env.Location)
	}),
	entry("dingtalk", func(c *dingtalk.Config, env receivers.Env) receivers.Receiver { return dingtalk.New(c, env.Templates) }),
	entry("wecom", func(c *wecom.Config, env receivers.Env) receivers.Receiver { return wecom.New(c, env.Templates) }),
	entry("feishu", func(c *feishu.Config, env receivers.Env) receivers.Receiver { return feishu.New(c, env.Templates) }),
}

// entry makes a table entry from a typed build function, so that each line above names
// its config type once and the table's untyped functions cannot be handed the wrong one.
func entry[C any, P interface {
	*C
	receivers.Config
}](key string, build func(P, receivers.Env) receivers.Receiver) Integration {
	return Integration{
		Key:       key,
		NewConfig: func() receivers.Config { return P(new(C)) },
		Build: func(c receivers.Config, env receivers.Env) receivers.Receiver {
			conf, ok := c.(P)
			if !ok {
				// Only a config made by another entry's NewConfig gets here: a bug, not input.
				panic(fmt.Sprintf("registry: %s integration built with a %T", key, c))
			}
			return build(conf, env)
		},
	}
}

// All returns the table, in order.
func All() []Integration { return append([]Integration(nil), integrations...) }

// Keys returns the YAML keys of all integrations, in order.
func Keys() []string {
	keys := make([]string, len(integrations))
	for i, in := range integrations {
		keys[i] = in.Key
	}
	return keys
}
