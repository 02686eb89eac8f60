//go:build !unix

package luahttp

import "net"

// alive cannot peek without the unix socket calls; a connection the server closed while it was
// idle fails its next request, which is retried on a new connection when net/http's rules allow.
func alive(net.Conn) bool { return true }
