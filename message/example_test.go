package message_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd/message"
)

func ExampleLogRecord_AppendJSON() {
	rec := &message.LogRecord{
		Type:      message.Delivery,
		Recipient: message.Recipients{"user@example.org"},
		Response:  message.Response{Code: 200, Content: "ok\r\nthanks"},
		EventTime: time.Date(2024, 11, 8, 15, 30, 12, 120_000_000, time.UTC),
	}
	out := string(rec.AppendJSON(nil))
	fmt.Println(out[:strings.Index(out, `,"queue"`)])
	fmt.Println(out[strings.Index(out, `"response"`):strings.Index(out, `,"created"`)])
	// Output:
	// {"type":"Delivery","id":"","sender":"","recipient":"user@example.org"
	// "response":{"code":200,"enhanced_code":null,"content":"ok thanks","command":null},"peer_address":null,"timestamp":0,"event_time":"2024-11-08T15:30:12.120Z"
}

func ExampleDecodeRecord() {
	_, err := message.DecodeRecord([]byte(`{"type":"Delivery","response":{"code":"200"}}`))
	fmt.Println(err)
	// Output:
	// field "response.code": expected number, got string
}

func ExampleParseQueueName() {
	q := message.ParseQueueName("spring:acme@example.com!relay.example.net")
	fmt.Println(*q.Campaign, *q.Tenant, q.Domain, *q.RoutingDomain)
	fmt.Println(message.FormatQueueName(q))
	// Output:
	// spring acme example.com relay.example.net
	// spring:acme@example.com!relay.example.net
}

func ExampleMessage_QueueName() {
	rcpt, _ := message.ParseAddress("someone@Example.COM")
	m := &message.Message{Recipients: []message.Address{rcpt}, Meta: message.Meta{}}
	m.Meta.SetString("tenant", "acme")
	name, err := m.QueueName()
	fmt.Println(name, err)
	// Output:
	// acme@example.com <nil>
}

func ExampleFormatDuration() {
	d, _ := message.ParseDuration("1 day 1h 1m 1s")
	fmt.Println(message.FormatDuration(d))
	fmt.Println(message.FormatDuration(7 * 24 * time.Hour))
	// Output:
	// 1day 1h 1m 1s
	// 7days
}

func ExampleIDGen_New() {
	gen := message.NewIDGen(message.RandomNode())
	now := time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)
	id := gen.New(now)
	fmt.Println(len(id.String()), id.Created())
	// Output:
	// 32 2024-11-08 15:30:12 +0000 UTC
}
