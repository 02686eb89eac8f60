package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/message"
)

// A log-hook policy in the KumoMTA webhook style, embedded in a Go program: every record is POSTed as
// JSON to a webhook, here a loopback receiver.
func Example() {
	// The webhook: each request it receives goes to a channel.
	type request struct {
		contentType string
		body        []byte
	}
	received := make(chan request, 16)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received <- request{r.Header.Get("Content-Type"), body}
	}))
	defer webhook.Close()

	const policy = `
local kumo = require 'kumo'
local WEBHOOK_URL = '{{WEBHOOK_URL}}'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false -- not about our own webhook deliveries
  end
  msg:set_meta('queue', 'webhook')
  return true
end)

kumo.on('get_queue_config', function(domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local response = client:post(WEBHOOK_URL)
        :header('Content-Type', 'application/json')
        :body(msg:get_data())
        :send()
      if response:status_is_success() then
        return 'delivered'
      end
      kumo.reject(400, 'webhook answered ' .. response:status_code())
    end,
    close = function(self) client:close() end,
  }
end)
`
	eng, err := engine.New(engine.Config{
		Policy:       "webhook.lua", // names the policy in error messages
		PolicySource: []byte(strings.ReplaceAll(policy, "{{WEBHOOK_URL}}", webhook.URL)),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		log.Fatal(err)
	}

	err = eng.Log(ctx, &message.LogRecord{
		Type:      message.Delivery,
		ID:        "d5f3c2a1b0e94f8e9c7d6b5a4f3e2d1c",
		Sender:    "news@example.com",
		Recipient: message.Recipients{"reader@example.net"},
		Response:  message.Response{Code: 250, Content: "2.0.0 OK"},
	})
	if err != nil {
		log.Fatal(err)
	}

	select {
	case req := <-received:
		rec, err := message.DecodeRecord(req.body)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec.Type, rec.Recipient, req.contentType)
	case <-time.After(10 * time.Second):
		fmt.Println("the webhook received nothing")
	}

	// Stop lets in-flight deliveries finish; bound how long that may take.
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := eng.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Delivery [reader@example.net] application/json
}

// Log feeds records to the policy's log hooks and returns once each hook has decided about each
// record and what they kept is in the spool; delivery happens afterwards. Missing timestamps and the
// node id are filled in, and the hook copies the meta keys it is configured with into the record.
func ExampleEngine_Log() {
	received := make(chan []byte, 16)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received <- body
	}))
	defer webhook.Close()

	// Only bounces are worth a webhook call; this policy drops every other record.
	const policy = `
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'bounces', meta = { 'tenant' } }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if record.type ~= 'Bounce' then
    return false
  end
  msg:set_meta('queue', 'bounces')
  return true
end)

kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    protocol = { custom_lua = { constructor = 'make.webhook' } },
  }
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local response = client:post('{{WEBHOOK_URL}}'):body(msg:get_data()):send()
      if not response:status_is_success() then
        kumo.reject(400, 'webhook answered ' .. response:status_code())
      end
      return 'delivered'
    end,
  }
end)
`
	eng, err := engine.New(engine.Config{
		PolicySource: []byte(strings.ReplaceAll(policy, "{{WEBHOOK_URL}}", webhook.URL)),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		log.Fatal(err)
	}

	err = eng.Log(ctx,
		&message.LogRecord{
			Type: message.Delivery, ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
			Sender: "shop@example.com", Recipient: message.Recipients{"ann@example.net"},
			Response: message.Response{Code: 250, Content: "2.0.0 OK"},
		},
		&message.LogRecord{
			Type: message.Bounce, ID: "f9e8d7c6b5a4938271605f4e3d2c1b0a",
			Sender: "shop@example.com", Recipient: message.Recipients{"bob@example.org"},
			Response: message.Response{Code: 550, Content: "5.1.1 user unknown"},
			Meta:     map[string]json.RawMessage{"tenant": json.RawMessage(`"shop"`)},
		},
	)
	if err != nil {
		log.Fatal(err)
	}
	// The hooks have decided by now.
	st := eng.Stats()
	fmt.Printf("kept %d, dropped %d\n", st.Kept, st.Dropped)

	select {
	case body := <-received:
		rec, err := message.DecodeRecord(body)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec.Type, rec.Recipient, rec.Response.Code, string(rec.Meta["tenant"]), rec.NodeID != "")
	case <-time.After(10 * time.Second):
		fmt.Println("the webhook received nothing")
	}

	// Stop lets in-flight deliveries finish; bound how long that may take.
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := eng.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// kept 1, dropped 1
	// Bounce [bob@example.org] 550 "shop" true
}

// Inject turns a request in the shape of KumoMTA's injection API into one message per recipient,
// logs a Reception record for each and queues it; the queue's custom_lua protocol delivers it, and a
// Delivery record follows. This policy sends both records to a webhook.
func ExampleEngine_Inject() {
	received := make(chan []byte, 16)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received <- body
	}))
	defer webhook.Close()

	const policy = `
local kumo = require 'kumo'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook', meta = { 'campaign' } }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  msg:set_meta('queue', 'webhook')
  return true
end)

kumo.on('get_queue_config', function(domain)
  local constructor = 'make.webhook'
  if domain == 'outbox' then
    constructor = 'make.outbox'
  end
  return kumo.make_queue_config {
    protocol = { custom_lua = { constructor = constructor } },
  }
end)

-- hookd speaks no SMTP: a real outbox would hand the mail to a provider's HTTP API.
kumo.on('make.outbox', function()
  return {
    send = function(self, msg)
      return '250 accepted for ' .. tostring(msg:recipient())
    end,
  }
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local response = client:post('{{WEBHOOK_URL}}'):body(msg:get_data()):send()
      if not response:status_is_success() then
        kumo.reject(400, 'webhook answered ' .. response:status_code())
      end
      return 'delivered'
    end,
  }
end)
`
	eng, err := engine.New(engine.Config{
		PolicySource: []byte(strings.ReplaceAll(policy, "{{WEBHOOK_URL}}", webhook.URL)),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		log.Fatal(err)
	}

	res, err := eng.Inject(ctx, &engine.InjectRequest{
		EnvelopeSender: "hello@example.com",
		Recipients:     []engine.InjectRecipient{{Email: "new.user@example.net", Name: "New User"}},
		Content: engine.InjectContent{Builder: &engine.InjectBuilder{
			Subject:  "Welcome!",
			TextBody: "Thanks for signing up.",
		}},
		Meta: map[string]json.RawMessage{"queue": json.RawMessage(`"outbox"`), "campaign": json.RawMessage(`"welcome"`)},
	}, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("queued:", res.SuccessCount)

	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case body := <-received:
			rec, err := message.DecodeRecord(body)
			if err != nil {
				log.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s %s: %s", rec.Type, rec.Recipient, rec.Meta["campaign"], rec.Response.Content))
		case <-timeout:
			log.Fatalf("the webhook received only %q", got)
		}
	}
	sort.Strings(got) // the two records may arrive in either order
	for _, line := range got {
		fmt.Println(line)
	}

	// Stop lets in-flight deliveries finish; bound how long that may take.
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := eng.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// queued: 1
	// Delivery [new.user@example.net] "welcome": 250 accepted for new.user@example.net
	// Reception [new.user@example.net] "welcome":
}
