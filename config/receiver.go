package config

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/registry"
)

// Receiver is a named destination with exactly one integration, whose YAML key is one of
// the integration table's (receivers/registry).
type Receiver struct {
	Name string
	// Integration is the table entry of the receiver's integration.
	Integration registry.Integration
	// Config is the integration's config, of the type its NewConfig makes.
	Config receivers.Config

	// integrations counts the integration keys set, for validation to report.
	integrations int
}

// receiverYAML is the struct a receiver decodes into: `name` and one pointer field per
// integration, built from the table at first use. Decoding into it keeps the decoder's
// strict mode (unknown keys are errors) and its line numbers, which a yaml.Node decoded
// by hand would lose.
var receiverYAML = sync.OnceValue(func() reflect.Type {
	fields := []reflect.StructField{{Name: "Name", Type: reflect.TypeFor[string](), Tag: `yaml:"name"`}}
	for i, in := range registry.All() {
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("Integration%d", i),
			Type: reflect.TypeOf(in.NewConfig()),
			Tag:  reflect.StructTag(fmt.Sprintf(`yaml:"%s,omitempty"`, in.Key)),
		})
	}
	return reflect.StructOf(fields)
})

// UnmarshalYAML decodes a receiver. It uses the callback form of yaml.v3's unmarshaler
// because only that one decodes with the caller's decoder, strict mode and all.
func (r *Receiver) UnmarshalYAML(unmarshal func(any) error) error {
	t := receiverYAML()
	v := reflect.New(t)
	err := unmarshal(v.Interface())
	*r = Receiver{Name: v.Elem().Field(0).String()}
	for i, in := range registry.All() {
		f := v.Elem().Field(i + 1)
		if f.IsNil() {
			continue
		}
		r.integrations++
		if r.Config == nil {
			r.Integration, r.Config = in, f.Interface().(receivers.Config)
		}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		// The decoder names the generated struct; name the type users know instead.
		name := "config.Receiver (name and one of " + strings.Join(registry.Keys(), ", ") + ")"
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = strings.ReplaceAll(e, t.String(), name)
		}
		return &yaml.TypeError{Errors: msgs}
	}
	return err
}

// MarshalYAML writes the receiver as it is configured: its name and its integration.
func (r Receiver) MarshalYAML() (any, error) {
	v := reflect.New(receiverYAML()).Elem()
	v.Field(0).SetString(r.Name)
	for i, in := range registry.All() {
		if r.Config != nil && in.Key == r.Integration.Key {
			v.Field(i + 1).Set(reflect.ValueOf(r.Config))
		}
	}
	return v.Interface(), nil
}

// Build makes the receiver's integration, for the dispatcher and send-test; stdout is
// where a log receiver writes.
func (r *Receiver) Build(c *Config, stdout io.Writer) receivers.Receiver {
	return r.Integration.Build(r.Config, receivers.Env{Templates: c.templates, Location: c.location, Stdout: stdout})
}

func (r *Receiver) validate(path string, tmpl *receivers.Templates) error {
	if r.Name == "" {
		return errf(path+".name", "is required")
	}
	if r.integrations != 1 {
		return errf(path, "receiver %q needs exactly one of %s, has %d", r.Name, strings.Join(registry.Keys(), ", "), r.integrations)
	}
	err := r.Config.Validate()
	if tc, ok := r.Config.(receivers.TemplateChecker); ok && err == nil {
		err = tc.CheckTemplates(tmpl)
	}
	if err != nil {
		key := r.Integration.Key
		var fe *receivers.FieldError
		if errors.As(err, &fe) {
			return errf(path+"."+key+"."+fe.Field, "%s", fe.Msg)
		}
		return errf(path+"."+key, "%v", err)
	}
	return nil
}
