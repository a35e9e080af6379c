package main

import (
	"net"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/appenv"
)

// options reads the oidcmw options from the environment (appenv.Options),
// with the callback at /auth/callback on ADDR as a browser on this
// machine reaches it.
func options(getenv func(string) string, addr string) (oidcmw.Options, error) {
	return appenv.Options(getenv, "http://"+browserAddr(addr)+"/auth/callback")
}

// browserAddr is addr as a browser on this machine reaches it: a listener
// on every address (":8080", "0.0.0.0:8080", "[::]:8080") is 127.0.0.1.
func browserAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
