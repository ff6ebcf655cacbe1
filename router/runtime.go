package router

import (
	"crypto/sha256"
	"encoding/hex"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/config"
)

// runtime is what intake builds from one config. It is replaced whole on reload, so that
// a request always sees one consistent config.
type runtime struct {
	cfg    *config.Config
	routes *Routes
	policy policy
	// configHash names the config, to compare with other replicas' (secrets shown as
	// <secret>, so they do not count).
	configHash string
}

func newRuntime(cfg *config.Config) *runtime {
	return &runtime{
		configHash: hashConfig(cfg),
		cfg:        cfg,
		routes:     NewRoutes(cfg),
		policy: policy{
			repeatInterval: cfg.Global.RepeatInterval.Std(),
			sendResolved:   cfg.Global.SendResolved,
		},
	}
}

// hashConfig is a short hash of the effective config.
func hashConfig(cfg *config.Config) string {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
