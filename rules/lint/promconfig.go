package lint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// PrometheusConfig is what the linter reads from prometheus.yml: the scrape jobs,
// their intervals and the labels their targets get. It is read leniently (unknown
// fields are fine) because Prometheus itself is the judge of its config; the
// Prometheus config package would bring every service discovery SDK with it.
type PrometheusConfig struct {
	ScrapeInterval time.Duration
	// ExternalLabels are added to every alert Prometheus sends.
	ExternalLabels map[string]string
	Jobs           map[string]ScrapeJob
}

// ScrapeJob is one scrape_configs entry.
type ScrapeJob struct {
	Name           string
	ScrapeInterval time.Duration
	// Labels are set on every target of the job by static_configs.
	Labels []string
	// Closed is true when the job's labels are fully known: only static_configs, no
	// relabeling that can add labels, no honor_labels. A label that a closed job does
	// not set is not on its series.
	Closed bool
	// relabeled are labels that relabel_configs or metric_relabel_configs may set.
	relabeled   []string
	honorLabels bool
}

type promFile struct {
	Global struct {
		ScrapeInterval string            `yaml:"scrape_interval"`
		ExternalLabels map[string]string `yaml:"external_labels"`
	} `yaml:"global"`
	ScrapeConfigFiles []string       `yaml:"scrape_config_files"`
	ScrapeConfigs     []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName        string `yaml:"job_name"`
	ScrapeInterval string `yaml:"scrape_interval"`
	HonorLabels    bool   `yaml:"honor_labels"`
	StaticConfigs  []struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"static_configs"`
	RelabelConfigs       []relabelConfig `yaml:"relabel_configs"`
	MetricRelabelConfigs []relabelConfig `yaml:"metric_relabel_configs"`
	// Everything else: any *_sd_configs key means targets (and labels) come from
	// service discovery.
	Rest map[string]yaml.Node `yaml:",inline"`
}

type relabelConfig struct {
	Action      string `yaml:"action"`
	TargetLabel string `yaml:"target_label"`
}

// LoadPrometheusConfig reads prometheus.yml and any scrape_config_files it names.
func LoadPrometheusConfig(path string) (*PrometheusConfig, error) {
	var f promFile
	if err := decodeYAML(path, &f); err != nil {
		return nil, err
	}
	c := &PrometheusConfig{ScrapeInterval: time.Minute, ExternalLabels: f.Global.ExternalLabels, Jobs: map[string]ScrapeJob{}}
	if f.Global.ScrapeInterval != "" {
		d, err := model.ParseDuration(f.Global.ScrapeInterval)
		if err != nil {
			return nil, fmt.Errorf("%s: global.scrape_interval: %w", path, err)
		}
		c.ScrapeInterval = time.Duration(d)
	}
	scrapes := f.ScrapeConfigs
	for _, pattern := range f.ScrapeConfigFiles {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(path), pattern)
		}
		files, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: scrape_config_files: %w", path, err)
		}
		for _, name := range files {
			var more struct {
				ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
			}
			if err := decodeYAML(name, &more); err != nil {
				return nil, err
			}
			scrapes = append(scrapes, more.ScrapeConfigs...)
		}
	}
	for i, sc := range scrapes {
		job, err := c.scrapeJob(sc)
		if err != nil {
			return nil, fmt.Errorf("%s: scrape_configs[%d]: %w", path, i, err)
		}
		c.Jobs[job.Name] = job
	}
	return c, nil
}

func decodeYAML(path string, v any) error {
	content, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.NewDecoder(bytes.NewReader(content)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (c *PrometheusConfig) scrapeJob(sc scrapeConfig) (ScrapeJob, error) {
	if sc.JobName == "" {
		return ScrapeJob{}, fmt.Errorf("job_name is empty")
	}
	job := ScrapeJob{Name: sc.JobName, ScrapeInterval: c.ScrapeInterval, Closed: !sc.HonorLabels, honorLabels: sc.HonorLabels}
	if sc.ScrapeInterval != "" {
		d, err := model.ParseDuration(sc.ScrapeInterval)
		if err != nil {
			return ScrapeJob{}, fmt.Errorf("job %s: scrape_interval: %w", sc.JobName, err)
		}
		job.ScrapeInterval = time.Duration(d)
	}
	for key := range sc.Rest {
		if len(key) > len("_configs") && key[len(key)-len("_configs"):] == "_configs" {
			job.Closed = false // service discovery
		}
	}
	// A label counts as set only if every static_configs entry sets it.
	for i, sc := range sc.StaticConfigs {
		var names []string
		for name := range sc.Labels {
			if i == 0 || slices.Contains(job.Labels, name) {
				names = append(names, name)
			}
		}
		job.Labels = names
	}
	sort.Strings(job.Labels)
	for _, rc := range append(slices.Clone(sc.RelabelConfigs), sc.MetricRelabelConfigs...) {
		switch rc.Action {
		case "", "replace", "lowercase", "uppercase", "hashmod":
			if rc.TargetLabel != "" {
				job.relabeled = append(job.relabeled, rc.TargetLabel)
			}
		case "labelmap":
			job.Closed = false
		}
	}
	return job, nil
}

// jobLabels tells the label analysis what a scrape job gives its series about
// label: present on every target, absent from every target, or unknown.
func (c *PrometheusConfig) jobLabels(label string) jobLabels {
	if c == nil {
		return nil
	}
	return func(name string) (present, absent []string, known bool) {
		job, ok := c.Jobs[name]
		if !ok {
			return nil, nil, false
		}
		if slices.Contains(job.Labels, label) {
			return []string{label}, nil, true
		}
		if job.Closed && !slices.Contains(job.relabeled, label) {
			return nil, []string{label}, true
		}
		return nil, nil, true
	}
}

// JobNames lists the scrape jobs, sorted.
func (c *PrometheusConfig) JobNames() []string {
	var names []string
	for n := range c.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// jobsMayBeRenamed reports whether series may carry job names that are no scrape job:
// a federating job keeps its sources' labels, and relabeling may set job.
func (c *PrometheusConfig) jobsMayBeRenamed() bool {
	for _, j := range c.Jobs {
		if j.honorLabels || slices.Contains(j.relabeled, "job") {
			return true
		}
	}
	return false
}
