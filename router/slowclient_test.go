package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRequest writes head (request line and headers, without the blank line) and then
// body on a fresh connection, optionally closing the write side, and reads the answer.
// A read that takes longer than 5 seconds fails the test: the server waited for a body
// that never comes.
func rawRequest(t *testing.T, addr, head, body string, closeWrite bool) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "%s\r\n\r\n%s", head, body); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body is incomplete: %v", err)
	}
	defer resp.Body.Close()
	var answer apiResponse
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return resp, answer.Error
}

// A client that sends part of a body and stalls gets its rejection at once, with
// Connection: close, instead of the server reading the rest of the body first.
func TestRejectionsDoNotWaitForTheRestOfTheBody(t *testing.T) {
	e := newEnv(t, "webhook:\n  bearer_token: s3cret\n"+logConfig, "", false)
	addr := strings.TrimPrefix(e.http.URL, "http://")
	partial := `{"version":"4","alerts":[`
	for _, tt := range []struct {
		name, head string
		code       int
	}{
		{"no token", "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000", http.StatusUnauthorized},
		{"wrong method", "PUT /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000", http.StatusMethodNotAllowed},
		{"wrong content type", "POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: text/plain\r\nContent-Length: 100000", http.StatusBadRequest},
	} {
		resp, _ := rawRequest(t, addr, tt.head, partial, false)
		if resp.StatusCode != tt.code || !resp.Close {
			t.Errorf("%s: %d, close %v; want %d and Connection: close", tt.name, resp.StatusCode, resp.Close, tt.code)
		}
	}
	if n := len(e.list("")); n != 0 {
		t.Fatalf("rejected requests stored %d notifications", n)
	}
}

// A body shorter than its Content-Length is named for what it is, not as trailing data.
func TestBodyShorterThanContentLength(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	addr := strings.TrimPrefix(e.http.URL, "http://")
	body := payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"})
	head := fmt.Sprintf("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d", len(body)+100)
	resp, msg := rawRequest(t, addr, head, body, true)
	if resp.StatusCode != http.StatusBadRequest || msg != "the request body ended before its Content-Length: the client closed the connection early" {
		t.Fatalf("short body: %d %q", resp.StatusCode, msg)
	}
	if n := len(e.list("")); n != 0 {
		t.Fatalf("a cut body stored %d notifications", n)
	}
}
