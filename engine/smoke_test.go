package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

func TestSmoke(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	got := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		got <- struct{}{}
	}))
	defer srv.Close()
	os.Setenv("WEBHOOK_URL", srv.URL)
	e, err := New(Config{Policy: "../examples/webhook/policy.lua"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	err = e.Log(ctx, &message.LogRecord{Type: message.Delivery, ID: "0123456789abcdef0123456789abcdef", Sender: "a@b.com", Recipient: message.Recipients{"c@d.com"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing arrived; stats %+v", e.Stats())
	}
	t.Log(bodies, e.Stats())
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
