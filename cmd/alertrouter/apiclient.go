package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// apiClient is how the commands that act on a running alertrouter (ack) reach it: its
// HTTP API, with an API token (web.api_tokens) when it has logins.
type apiClient struct {
	url, tokenFile *string
}

func newAPIClient(cmd *kingpin.CmdClause) *apiClient {
	return &apiClient{
		url: cmd.Flag("alertrouter.url", "The running alertrouter's URL (web.external_url).").
			Envar("ALERTROUTER_URL").Default("http://localhost:9095").String(),
		tokenFile: cmd.Flag("alertrouter.token-file", "A file holding an API token of web.api_tokens (operator), when alertrouter has logins.").
			Envar("ALERTROUTER_TOKEN_FILE").PlaceHolder("FILE").String(),
	}
}

// post sends form to the API's path and decodes the answer's data into out.
func (c *apiClient) post(path string, form url.Values, out any) error {
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(*c.url, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, path, out)
}

// get reads the API's path and decodes the answer's data into out.
func (c *apiClient) get(path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(*c.url, "/")+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, path, out)
}

func (c *apiClient) do(req *http.Request, path string, out any) error {
	if *c.tokenFile != "" {
		token, err := os.ReadFile(*c.tokenFile)
		if err != nil {
			return fmt.Errorf("alertrouter.token-file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return err
	}
	var answer struct {
		Data  json.RawMessage `json:"data"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("%s: %s, not an alertrouter answer", path, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, answer.Error)
	}
	return json.Unmarshal(answer.Data, out)
}
