package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/httpapi"
)

// authFlags are `hookd run`'s access-control flags.
type authFlags struct {
	trusted   string // comma-separated addresses and CIDR ranges, or "none"
	tokenFile string // bearer tokens, one per line
	basicFile string // user:password lines
}

// apiAuth builds the HTTP API's access control: trusted hosts from --trusted-hosts, else from the
// policy's kumo.start_http_listener, else loopback only; credentials from the token and basic files
// and the policy's http_server_validate_auth_basic event (check).
func apiAuth(f authFlags, listener *config.Listener, check func(user, password string) bool) (httpapi.Auth, error) {
	var a httpapi.Auth
	var hosts []string
	switch {
	case f.trusted == "none":
		hosts = []string{}
	case f.trusted != "":
		hosts = strings.Split(f.trusted, ",")
	case listener != nil && listener.TrustedHosts != nil:
		hosts = listener.TrustedHosts
	}
	if hosts != nil {
		p, err := httpapi.ParseTrustedHosts(hosts)
		if err != nil {
			return a, err
		}
		a.TrustedHosts = p
	}
	if f.tokenFile != "" {
		lines, err := credentialLines(f.tokenFile)
		if err != nil {
			return a, fmt.Errorf("--api-token-file: %w", err)
		}
		a.Tokens = lines
	}
	if f.basicFile != "" {
		lines, err := credentialLines(f.basicFile)
		if err != nil {
			return a, fmt.Errorf("--api-basic-file: %w", err)
		}
		a.Basic = map[string]string{}
		for i, l := range lines {
			user, pass, ok := strings.Cut(l, ":")
			if !ok || user == "" || pass == "" {
				return a, fmt.Errorf("--api-basic-file: entry %d is not user:password", i+1)
			}
			a.Basic[user] = pass
		}
	}
	a.CheckBasic = check
	a.Hint = accessHint
	return a, nil
}

// accessHint is what a 401 answer of hookd run tells the client.
const accessHint = "send a bearer token listed in --api-token-file or basic credentials " +
	"(--api-basic-file, or the policy's http_server_validate_auth_basic), or have the node started " +
	"with this host in --trusted-hosts"

// bindWarning is the line hookd run logs when it listens beyond loopback with no way for a remote
// client in: no trusted host beyond loopback, no token or basic credentials, no policy check of
// basic credentials. Empty when there is nothing to say.
func bindWarning(addr net.Addr, a httpapi.Auth, policyChecksBasic bool) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return ""
	}
	if a.RemoteTrusted() || len(a.Tokens) > 0 || len(a.Basic) > 0 || policyChecksBasic {
		return ""
	}
	return fmt.Sprintf("listening on %s beyond loopback with no credentials configured: remote clients "+
		"get 401 (only loopback is trusted); give them access with --api-token-file, --api-basic-file, "+
		"--trusted-hosts or the policy's http_server_validate_auth_basic", addr)
}

// credentialLines reads a credentials file: one entry per line; blank lines and lines starting
// with # are skipped. A file with no entry is an error, not "nobody may log in".
func credentialLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no entry", path)
	}
	return out, nil
}
