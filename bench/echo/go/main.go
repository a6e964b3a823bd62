// The Go echo server of bench/echo (an optional row: bench/echo/run --servers ...,go).
//
// Idiomatic Go: a goroutine per connection doing Read into a 64 KiB buffer and Write of what was
// read (an explicit loop rather than io.Copy, which could splice and so measure something else).
// The run script sets GOMAXPROCS=1: one P, like one libuv loop, as in the "Go (1 P)".
// Go sets TCP_NODELAY on TCP connections by default, like every server of the benchmark.
//
// Usage: go_echo PORT
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				fmt.Fprintf(os.Stderr, "go_echo: read from %s: %v\n", c.RemoteAddr(), err)
			}
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_echo PORT")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[1])
	if err != nil || port <= 0 || port > 65535 {
		fmt.Fprintln(os.Stderr, "usage: go_echo PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_echo: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "go_echo: %s, GOMAXPROCS=%d, listening on 127.0.0.1:%d\n",
		runtime.Version(), runtime.GOMAXPROCS(0), port)
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go_echo: accept: %v\n", err)
			continue
		}
		go echo(c)
	}
}
