package main

import (
	"bufio"
	"bytes"
	"fmt"
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
	return a, nil
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
