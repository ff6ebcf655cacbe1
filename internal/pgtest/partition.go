package pgtest

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
)

// Partition is a TCP proxy in front of a server's unix socket that can stop forwarding,
// as a network partition does: connections stay open and go silent, so that only
// timeouts and keepalives notice.
type Partition struct {
	ln  net.Listener
	cut atomic.Bool
}

// NewPartition starts a proxy in front of s, closed when the test ends.
func (s *Server) NewPartition(t testing.TB) *Partition {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Partition{ln: ln}
	t.Cleanup(func() { ln.Close() })
	socket := s.Socket()
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(client, socket)
		}
	}()
	return p
}

// URL is a URL of database db through the proxy.
func (p *Partition) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", p.ln.Addr(), db)
}

// Cut stops forwarding, for good: what is sent either way is dropped.
func (p *Partition) Cut() { p.cut.Store(true) }

func (p *Partition) forward(client net.Conn, socket string) {
	defer client.Close()
	server, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	defer server.Close()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if !p.cut.Load() {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
	}
	go pipe(server, client)
	pipe(client, server)
}
