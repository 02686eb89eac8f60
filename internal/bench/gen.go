package bench

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hookd/hookd/message"
)

// SeqHeader is the header that carries a synthetic record's sequence number. The built-in policies
// (and examples/webhook/policy.lua, which captures "X-*") copy it into every webhook body, where the
// receiver finds it.
const SeqHeader = "X-Bench-Seq"

// seqMarker is how the sequence number starts in a record's JSON: headers are written compactly.
const seqMarker = `"` + SeqHeader + `":"`

// The meta keys and headers a synthetic record carries. The built-in policies capture exactly these,
// so a webhook body holds the same bytes as Generator.Body.
var (
	recordMeta    = []string{"tenant", "campaign"}
	recordHeaders = []string{"Subject", "X-*"}
)

var (
	tenantNames = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"}
	campaigns   = []string{"welcome", "newsletter", "receipts", "password-reset", "spring-promo", "digest"}
	subjects    = []string{"Your weekly digest", "Welcome aboard!", "Your receipt #%d", "Reset your password",
		"Spring sale: 20% off everything", "3 new messages are waiting for you", "Your order has shipped"}
	// Recipient domains and the MX host that serves each.
	domains = []struct{ name, mx string }{
		{"gmail.com", "gmail-smtp-in.l.google.com"},
		{"yahoo.com", "mta7.am0.yahoodns.net"},
		{"outlook.com", "outlook-com.olc.protection.outlook.com"},
		{"icloud.com", "mx01.mail.icloud.com"},
		{"example.net", "mx.example.net"},
		{"example.org", "mail.example.org"},
	}
)

// benchNode is the nodeid of every synthetic record.
const benchNode = "5c0ffee0-b3e7-4c1a-9d2e-000000000b7c"

// Generator makes the synthetic records of a run. Record seq is a pure function of the seed, the
// settings and seq, so the baseline and hookd phases send the same bytes and workers may build
// records in any order. It is safe for concurrent use.
type Generator struct {
	seed    uint64
	picker  picker
	tenants []string
	base    time.Time
}

// NewGenerator returns a generator for the mix with the given number of tenants (at least 1);
// event times start at base.
func NewGenerator(seed uint64, mix Mix, tenants int, base time.Time) *Generator {
	g := &Generator{seed: seed, picker: newPicker(mix), base: base.UTC().Truncate(time.Millisecond)}
	for i := range max(tenants, 1) {
		name := tenantNames[i%len(tenantNames)]
		if i >= len(tenantNames) {
			name += strconv.Itoa(i / len(tenantNames))
		}
		g.tenants = append(g.tenants, name)
	}
	return g
}

// Body appends the bytes a webhook receives for record seq to dst: its JSON and a newline, as hookd
// renders a hook message's body.
func (g *Generator) Body(dst []byte, seq int) []byte {
	return append(g.Record(seq).AppendJSON(dst), '\n')
}

// Record builds record seq. Every field is set, so the engine fills nothing in.
func (g *Generator) Record(seq int) *message.LogRecord {
	rng := rand.New(rand.NewPCG(g.seed, uint64(seq)))
	t := g.picker.pick(rng.Float64())
	tenant := g.tenants[rng.IntN(len(g.tenants))]
	campaign := campaigns[rng.IntN(len(campaigns))]
	dom := domains[rng.IntN(len(domains))]
	event := g.base.Add(time.Duration(seq) * time.Millisecond)
	created := event.Add(-time.Duration(1+rng.IntN(600))*time.Second - time.Duration(rng.IntN(1e6))*time.Microsecond)
	subject := subjects[rng.IntN(len(subjects))]
	if subject == subjects[2] {
		subject = "Your receipt #" + strconv.Itoa(100000+rng.IntN(900000))
	}
	r := &message.LogRecord{
		Type:      t,
		ID:        spoolID(g.seed, seq),
		Sender:    "bounces+" + strconv.FormatUint(rng.Uint64()>>40, 36) + "@em." + tenant + ".example",
		Recipient: message.Recipients{"user" + strconv.Itoa(rng.IntN(1000000)) + "@" + dom.name},
		Queue:     campaign + ":" + tenant + "@" + dom.name,
		Size:      uint64(2000 + rng.IntN(60000)),
		Timestamp: event.Unix(), EventTime: event,
		Created: created.Unix(), CreatedTime: created,
		BounceClassification: "Uncategorized",
		Meta: map[string]json.RawMessage{
			"tenant": quote(tenant), "campaign": quote(campaign),
		},
		Headers: map[string]json.RawMessage{
			"Subject": quote(subject), SeqHeader: quote(strconv.Itoa(seq)),
		},
		ReceptionProtocol: ptr("ESMTP"),
		NodeID:            benchNode,
	}
	switch t {
	case message.Reception, message.Rejection, message.XferIn:
		inbound(r, rng, tenant)
	case message.Delivery, message.TransientFailure, message.Bounce, message.OOB, message.Feedback, message.XferOut:
		outbound(r, rng, tenant, dom.mx)
	}
	respond(r, rng, dom.mx)
	return r
}

// inbound fills the fields of a record about a message arriving.
func inbound(r *message.LogRecord, rng *rand.Rand, tenant string) {
	client := "10.20." + strconv.Itoa(rng.IntN(4)) + "." + strconv.Itoa(2+rng.IntN(250))
	r.PeerAddress = &message.PeerAddress{Name: "app" + strconv.Itoa(1+rng.IntN(9)) + "." + tenant + ".internal", Addr: client}
	r.SourceAddress = json.RawMessage(`{"address":"` + client + `:` + strconv.Itoa(30000+rng.IntN(30000)) +
		`","server":"10.20.0.1:25","protocol":"ESMTP"}`)
}

// outbound fills the fields of a record about a delivery attempt.
func outbound(r *message.LogRecord, rng *rand.Rand, tenant, mx string) {
	r.Site = mx
	r.PeerAddress = &message.PeerAddress{Name: mx, Addr: "192.0.2." + strconv.Itoa(1+rng.IntN(254))}
	r.EgressPool = ptr("pool-" + tenant)
	r.EgressSource = ptr("ip-" + strconv.Itoa(1+rng.IntN(4)))
	r.DeliveryProtocol = ptr("ESMTP")
	r.NumAttempts = uint16(rng.IntN(2))
}

// respond sets the response (and what goes with it) by record type.
func respond(r *message.LogRecord, rng *rand.Rand, mx string) {
	code := func(c uint16, class uint8, subject, detail uint16, content string) {
		r.Response = message.Response{Code: c, Enhanced: &message.EnhancedCode{Class: class, Subject: subject, Detail: detail},
			Content: content}
	}
	switch r.Type {
	case message.Reception:
		r.Response = message.Response{Code: 250}
	case message.Delivery:
		code(250, 2, 0, 0, "OK "+strconv.FormatInt(r.Timestamp, 10)+" "+r.ID[:12]+" - gsmtp")
	case message.TransientFailure:
		r.NumAttempts = uint16(1 + rng.IntN(5))
		if rng.IntN(2) == 0 {
			code(421, 4, 7, 0, "Try again later, closing connection. "+mx)
		} else {
			code(451, 4, 7, 1, "Greylisted, please try again in 300 seconds")
		}
	case message.Bounce, message.OOB:
		switch rng.IntN(3) {
		case 0:
			code(550, 5, 1, 1, "The email account that you tried to reach does not exist.")
			r.BounceClassification = "InvalidRecipient"
		case 1:
			code(552, 5, 2, 2, "The recipient's inbox is out of storage space.")
			r.BounceClassification = "QuotaIssues"
		default:
			code(554, 5, 7, 1, "Message rejected: content looks like spam.")
			r.BounceClassification = "SpamContent"
		}
	case message.Expiration:
		code(551, 5, 4, 7, "Next delivery time would be at "+message.FormatTime(r.EventTime.Add(20*time.Minute))+
			" which exceeds the expiry time")
	case message.AdminBounce:
		code(551, 5, 7, 1, "Administrator bounced with reason: campaign withdrawn")
		r.Site = "localhost"
		r.BounceClassification = "AdministrativeBounce"
	case message.Rejection:
		r.ID = "" // rejected before a message existed
		code(550, 5, 7, 1, "relaying denied")
		r.Response.Command = ptr("RCPT TO:<" + r.Recipient[0] + ">\r\n")
	case message.Feedback:
		r.Response = message.Response{Code: 200, Content: "feedback report"}
		r.FeedbackReport = json.RawMessage(`{"feedback_type":"abuse","user_agent":"ExampleFBL/1.0","version":1,` +
			`"arrival_date":"` + message.FormatTime(r.EventTime) + `"}`)
	case message.Delayed:
		code(400, 4, 4, 7, "message delayed: deferred by the queue's schedule")
	default:
		r.Response = message.Response{Code: 250, Content: "moved to queue " + r.Queue}
	}
}

// spoolID makes a 32-hex-digit id unique to (seed, seq).
func spoolID(seed uint64, seq int) string {
	const hexdigits = "0123456789abcdef"
	var b [32]byte
	hi, lo := mix64(seed^0x9e3779b97f4a7c15), mix64(seed+uint64(seq)*0xbf58476d1ce4e5b9)^uint64(seq)
	for i := range 16 {
		b[15-i] = hexdigits[hi&15]
		b[31-i] = hexdigits[lo&15]
		hi >>= 4
		lo >>= 4
	}
	// Record seq's id must differ from every other record's: keep seq itself in the low bits.
	s := uint64(seq)
	for i := range 8 {
		b[31-i] = hexdigits[s&15]
		s >>= 4
	}
	return string(b[:])
}

// mix64 is SplitMix64's finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func ptr[T any](v T) *T { return &v }
