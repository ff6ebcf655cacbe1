package receivers

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	promconfig "github.com/prometheus/common/config"
)

// HTTPClientConfig is how an HTTP receiver reaches its destination: through a proxy
// (teams in China reach Slack only through one) and with TLS settings (an on-premises
// Feishu behind a private CA). Receivers embed it inline, so its fields sit beside
// theirs: `proxy_url`, `tls_config`.
type HTTPClientConfig struct {
	// ProxyURL is an http, https or socks5 proxy; it may hold credentials.
	ProxyURL Secret `yaml:"proxy_url"`
	// TLSConfig is Prometheus's tls_config: ca_file, cert_file, key_file, server_name,
	// insecure_skip_verify, min_version.
	TLSConfig promconfig.TLSConfig `yaml:"tls_config"`
}

// Validate checks the proxy URL (without quoting it) and that the TLS files load.
func (c *HTTPClientConfig) Validate() error {
	if c.ProxyURL != "" {
		u, err := url.Parse(string(c.ProxyURL))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			return &FieldError{Field: "proxy_url", Msg: "want an http://, https:// or socks5:// URL with a host"}
		}
	}
	if _, err := promconfig.NewTLSConfig(&c.TLSConfig); err != nil {
		return &FieldError{Field: "tls_config", Msg: err.Error()}
	}
	return nil
}

// NewClient is a client for the destination, bounded by timeout, with the proxy and TLS
// settings, that does not follow redirects (see NewHTTPClient).
func (c *HTTPClientConfig) NewClient(timeout time.Duration) (*http.Client, error) {
	transport, err := c.NewTransport()
	if err != nil {
		return nil, err
	}
	client := NewHTTPClient(timeout)
	client.Transport = transport
	return client, nil
}

// NewTransport is the transport of the settings, for clients that an SDK builds (Aliyun's).
func (c *HTTPClientConfig) NewTransport() (*http.Transport, error) {
	tlsConf, err := promconfig.NewTLSConfig(&c.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("tls_config: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConf
	// Without proxy_url, HTTPS_PROXY and friends apply, as for any Go program.
	if c.ProxyURL != "" {
		u, err := url.Parse(string(c.ProxyURL))
		if err != nil {
			return nil, Permanent(fmt.Errorf("proxy_url is not a valid URL"))
		}
		transport.Proxy = http.ProxyURL(u)
	}
	return transport, nil
}

// Secrets are the client settings' secrets, for Scrub: a proxy may echo its own URL,
// credentials and all.
func (c *HTTPClientConfig) Secrets() []string { return []string{string(c.ProxyURL)} }

// HTTPClient is a receiver's client, built once from its settings. One that could not be
// built (a CA file that went away since the config was checked) fails each send with the
// reason, to be retried: the file may come back.
type HTTPClient struct {
	client *http.Client
	err    error
}

// NewHTTPClientFor builds the client of a receiver's settings.
func NewHTTPClientFor(c *HTTPClientConfig, timeout time.Duration) HTTPClient {
	client, err := c.NewClient(timeout)
	return HTTPClient{client: client, err: err}
}

// Get returns the client, or why there is none.
func (h HTTPClient) Get() (*http.Client, error) { return h.client, h.err }
