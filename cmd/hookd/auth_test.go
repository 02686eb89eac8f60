package main

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/httpapi"
)

// authPolicy accepts records (and drops them) and validates basic credentials itself.
const authPolicy = `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = TRUSTED }
  kumo.configure_log_hook { name = 'wh' }
end)
kumo.on('should_enqueue_log_record', function(msg, hook) return false end)
kumo.on('http_server_validate_auth_basic', function(user, password)
  return user == 'policy-user' and password == 'from-lua'
end)
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// postLog posts one record with the given credentials and returns the status.
func postLog(t *testing.T, node *child, set func(*http.Request)) int {
	t.Helper()
	rec := mailEvents(100, map[string]int{"Delivery": 1})[0]
	req, err := http.NewRequest(http.MethodPost, node.url+"/api/log/v1", strings.NewReader(string(rec.json())))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if set != nil {
		set(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/log/v1: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestAPIAuthentication(t *testing.T) {
	policy := writeFile(t, "auth.lua", strings.Replace(authPolicy, "TRUSTED", "{ '127.0.0.1' }", 1))
	tokens := writeFile(t, "tokens", "# API tokens\n\ns3cret-token\nsecond-token\n")
	users := writeFile(t, "users", "ops:hunter2\n")
	node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), policy,
		[]string{"--trusted-hosts", "none", "--api-token-file", tokens, "--api-basic-file", users})

	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	for _, c := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"no credentials from a host that is not trusted", nil, 401},
		{"a listed bearer token", bearer("s3cret-token"), 200},
		{"the second listed token", bearer("second-token"), 200},
		{"an unknown token", bearer("guess"), 401},
		{"basic credentials from the file", basic("ops", "hunter2"), 200},
		{"a wrong password", basic("ops", "hunter3"), 401},
		{"basic credentials the policy accepts", basic("policy-user", "from-lua"), 200},
		{"basic credentials the policy refuses", basic("policy-user", "nope"), 401},
	} {
		if got := postLog(t, node, c.set); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	resp, err := http.Get(node.url + "/api/check-liveness/v1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("liveness needs no credentials: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(node.url + "/api/admin/queues/v1")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("the admin API without credentials: %v %v, want 401", resp, err)
	}
	resp.Body.Close()
	if got := metric(t, node, `hookd_log_hook_records_total{hook="wh",outcome="dropped"}`); got != "4" {
		t.Errorf("records the policy saw = %q, want 4 (refused requests must add nothing)", got)
	}
}

func TestTrustedHostsFromThePolicy(t *testing.T) {
	t.Run("a policy that trusts another network refuses loopback without credentials", func(t *testing.T) {
		policy := writeFile(t, "auth.lua", strings.Replace(authPolicy, "TRUSTED", "{ '10.0.0.0/8' }", 1))
		node := startNode(t, policy)
		if got := postLog(t, node, nil); got != 401 {
			t.Errorf("status %d, want 401", got)
		}
		if got := postLog(t, node, func(r *http.Request) { r.SetBasicAuth("policy-user", "from-lua") }); got != 200 {
			t.Errorf("with credentials the policy accepts: status %d, want 200", got)
		}
	})
	t.Run("--trusted-hosts wins over the policy", func(t *testing.T) {
		policy := writeFile(t, "auth.lua", strings.Replace(authPolicy, "TRUSTED", "{ '10.0.0.0/8' }", 1))
		node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), policy, []string{"--trusted-hosts", "127.0.0.1,::1"})
		if got := postLog(t, node, nil); got != 200 {
			t.Errorf("status %d, want 200", got)
		}
	})
	t.Run("bad credential files stop the node at start", func(t *testing.T) {
		policy := writeFile(t, "auth.lua", strings.Replace(authPolicy, "TRUSTED", "nil", 1))
		empty := writeFile(t, "tokens", "# nothing yet\n")
		code, _, stderr := runHookd(t, t.Context(), t.TempDir(), "run", "--policy", policy, "--http", "127.0.0.1:0",
			"--api-token-file", empty)
		if code != 2 || !strings.Contains(stderr, "--api-token-file") || !strings.Contains(stderr, "holds no entry") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		users := writeFile(t, "users", "ops\n")
		code, _, stderr = runHookd(t, t.Context(), t.TempDir(), "run", "--policy", policy, "--http", "127.0.0.1:0",
			"--api-basic-file", users)
		if code != 2 || !strings.Contains(stderr, "entry 1 is not user:password") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		code, _, stderr = runHookd(t, t.Context(), t.TempDir(), "run", "--policy", policy, "--http", "127.0.0.1:0",
			"--trusted-hosts", "10.0.0.300")
		if code != 2 || !strings.Contains(stderr, "not an address or CIDR range") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// A node listening beyond loopback with no credentials says so at start, and a remote client's 401
// tells it which flags give access.
func TestBindWarning(t *testing.T) {
	policy := writeFile(t, "open.lua", `
local kumo = require 'kumo'
kumo.on('init', function() kumo.configure_log_hook { name = 'wh' } end)
kumo.on('should_enqueue_log_record', function() return false end)
`)
	node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), policy, []string{"--http", "0.0.0.0:0"})
	if !strings.Contains(node.stderr.String(), "beyond loopback with no credentials configured: remote clients get 401") {
		t.Fatalf("no warning at start; stderr:\n%s", node.stderr.String())
	}
	_, port, err := net.SplitHostPort(strings.TrimPrefix(node.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	ip := nonLoopbackIP(t)
	resp, err := http.Post("http://"+net.JoinHostPort(ip, port)+"/api/log/v1", "application/json",
		strings.NewReader(string(mailEvents(1, map[string]int{"Delivery": 1})[0].json())))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("a remote client without credentials: %d %s", resp.StatusCode, body)
	}
	for _, flag := range []string{"--api-token-file", "--api-basic-file", "--trusted-hosts"} {
		if !strings.Contains(string(body), flag) {
			t.Errorf("the 401 body does not name %s: %s", flag, body)
		}
	}
	if got := postLog(t, node, nil); got != 200 {
		t.Errorf("loopback is still trusted: status %d", got)
	}
}

// nonLoopbackIP is an address of this machine that is not loopback, for a client that is remote to
// a node listening on all addresses.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no address beyond loopback to be a remote client from")
	return ""
}

func TestBindWarningCases(t *testing.T) {
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	remote, _ := httpapi.ParseTrustedHosts([]string{"10.0.0.0/8"})
	local, _ := httpapi.ParseTrustedHosts([]string{"127.0.0.1", "::1"})
	for _, c := range []struct {
		name   string
		addr   net.Addr
		auth   httpapi.Auth
		policy bool
		warn   bool
	}{
		{"loopback", tcp("127.0.0.1:8000"), httpapi.Auth{}, false, false},
		{"all addresses, nothing configured", tcp("0.0.0.0:8000"), httpapi.Auth{}, false, true},
		{"an address, loopback trusted only", tcp("192.0.2.2:8000"), httpapi.Auth{TrustedHosts: local}, false, true},
		{"IPv6 any", tcp("[::]:8000"), httpapi.Auth{}, false, true},
		{"a remote network trusted", tcp("0.0.0.0:8000"), httpapi.Auth{TrustedHosts: remote}, false, false},
		{"tokens", tcp("0.0.0.0:8000"), httpapi.Auth{Tokens: []string{"t"}}, false, false},
		{"basic users", tcp("0.0.0.0:8000"), httpapi.Auth{Basic: map[string]string{"u": "p"}}, false, false},
		{"the policy checks basic credentials", tcp("0.0.0.0:8000"), httpapi.Auth{}, true, false},
	} {
		if got := bindWarning(c.addr, c.auth, c.policy) != ""; got != c.warn {
			t.Errorf("%s: warning %v, want %v", c.name, got, c.warn)
		}
	}
}
