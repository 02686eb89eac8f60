package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hookd/hookd/httpapi"
)

func TestAuth(t *testing.T) {
	a := newAdminRig(t, "")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	record := `{"type":"Delivery","id":"00000000000000000000000000000001","sender":"a@b.c","recipient":"d@e.f"}`
	serve := func(auth httpapi.Auth) *httptest.Server {
		srv := httptest.NewServer(httpapi.New(a.eng, httpapi.Options{Logger: quiet, Auth: auth}))
		t.Cleanup(srv.Close)
		return srv
	}
	post := func(srv *httptest.Server, set func(*http.Request)) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/log/v1", strings.NewReader(record))
		if set != nil {
			set(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The test's client is loopback; trusting only 10.0.0.0/8 makes it an outsider.
	outside := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name string
		auth httpapi.Auth
		set  func(*http.Request)
		want int
	}{
		{"a loopback client is trusted by default", httpapi.Auth{}, nil, 200},
		{"an untrusted client without credentials is refused", httpapi.Auth{TrustedHosts: outside}, nil, 401},
		{"a valid bearer token lets it in", httpapi.Auth{TrustedHosts: outside, Tokens: []string{"t1", "t2"}},
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer t2") }, 200},
		{"a wrong bearer token does not", httpapi.Auth{TrustedHosts: outside, Tokens: []string{"t1"}},
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer t3") }, 401},
		{"valid basic credentials let it in", httpapi.Auth{TrustedHosts: outside, Basic: map[string]string{"ops": "pw"}},
			func(r *http.Request) { r.SetBasicAuth("ops", "pw") }, 200},
		{"a wrong password does not", httpapi.Auth{TrustedHosts: outside, Basic: map[string]string{"ops": "pw"}},
			func(r *http.Request) { r.SetBasicAuth("ops", "nope") }, 401},
		{"the policy's check can accept basic credentials", httpapi.Auth{TrustedHosts: outside,
			CheckBasic: func(u, p string) bool { return u == "lua" && p == "ok" }},
			func(r *http.Request) { r.SetBasicAuth("lua", "ok") }, 200},
		{"a trusted range covering the client needs nothing", httpapi.Auth{TrustedHosts: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, nil, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(serve(tc.auth), tc.set); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("liveness and metrics need no credentials", func(t *testing.T) {
		srv := serve(httpapi.Auth{TrustedHosts: outside})
		for _, path := range []string{"/api/check-liveness/v1", "/metrics"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET %s: %v %v", path, resp, err)
			}
			resp.Body.Close()
		}
	})
	t.Run("trusted hosts parse from addresses and ranges", func(t *testing.T) {
		got, err := httpapi.ParseTrustedHosts([]string{"192.0.2.7", "10.1.0.0/16", "::1"})
		if err != nil || len(got) != 3 || got[0].Bits() != 32 || got[2].Bits() != 128 {
			t.Fatalf("%v %v", got, err)
		}
		if _, err := httpapi.ParseTrustedHosts([]string{"example.com"}); err == nil {
			t.Fatal("a host name was accepted")
		}
	})
}

func TestRecordSizeLimit(t *testing.T) {
	a := newAdminRig(t, "")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(httpapi.New(a.eng, httpapi.Options{Logger: quiet, MaxRecordBytes: 200}))
	defer srv.Close()
	big := `{"type":"Delivery","sender":"a@b.c","recipient":"d@e.f","site":"` + strings.Repeat("x", 300) + `"}`
	resp, err := http.Post(srv.URL+"/api/log/v1", "application/json", strings.NewReader(`[{"type":"Delivery","sender":"a@b.c","recipient":"d@e.f"},`+big+`]`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(body), "record 1") {
		t.Fatalf("%d %s; want 413 naming record 1", resp.StatusCode, body)
	}
	if st := a.eng.Stats(); st.Received != 0 {
		t.Fatalf("%d records accepted from a refused request", st.Received)
	}
}
