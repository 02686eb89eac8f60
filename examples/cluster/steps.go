package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"
)

// tenants are the example's customers: the policy gives each its own queue, webhook.<tenant>.
var tenants = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "soylent",
	"tyrell", "cyberdyne", "aperture"}

// record is a KumoMTA log record as POST /api/log/v1 takes it.
type record struct {
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	Sender    string            `json:"sender"`
	Recipient string            `json:"recipient"`
	Queue     string            `json:"queue"`
	Meta      map[string]string `json:"meta"`
	Response  struct {
		Code    int    `json:"code"`
		Content string `json:"content"`
	} `json:"response"`
}

// makeRecords makes n Delivery records numbered from first, spread over the tenants.
func makeRecords(first, n int) []record {
	recs := make([]record, n)
	for i := range recs {
		seq := first + i
		t := tenants[seq%len(tenants)]
		r := &recs[i]
		r.Type, r.ID = "Delivery", fmt.Sprintf("%032x", seq+1)
		r.Sender, r.Recipient = "news@"+t+".example", fmt.Sprintf("reader%d@example.net", seq)
		r.Queue, r.Meta = "newsletter:"+t+"@example.net", map[string]string{"tenant": t}
		r.Response.Code, r.Response.Content = 250, "2.0.0 OK"
	}
	return recs
}

func ids(recs []record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// steps is the example's story, one method per step.
type steps struct {
	ctx context.Context
	out io.Writer
	c   *cluster
	wh  *webhook
	n   int
	res *result

	posted    []record
	owners    map[string]string // tenant → member, as the first step observed
	killed    *member
	spooledTo []string // ids of the records in the killed member's queues when it was killed
}

func (s *steps) say(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }

func (s *steps) title(n int, text string) { s.say("\n%d. %s", n, text) }

// postAll posts recs to the members given, twenty records at a time to each in turn.
func (s *steps) postAll(recs []record, to []*member) error {
	for i := 0; i < len(recs); i += 20 {
		if err := s.c.post(s.ctx, to[(i/20)%len(to)], recs[i:min(i+20, len(recs))]); err != nil {
			return err
		}
	}
	s.posted = append(s.posted, recs...)
	return nil
}

// arrived waits until every record of ids has reached the webhook.
func (s *steps) arrived(ids []string, timeout time.Duration, what string) error {
	return waitFor(s.ctx, timeout, what, func() (bool, error) { return s.wh.has(ids) == len(ids), nil })
}

func byMember(by map[string]int) string {
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, fmt.Sprintf("%s %d", m, by[m]))
	}
	if len(parts) == 0 {
		return "nobody"
	}
	return strings.Join(parts, ", ")
}

func (s *steps) start() error {
	s.title(1, "three `hookd run` members start, each with its own spool, and form a cluster")
	errs := make(chan error, len(s.c.members))
	for _, m := range s.c.members {
		go func() { errs <- s.c.start(s.ctx, m) }() // each waits for the others before it listens
	}
	var first error
	for range s.c.members { // wait for every start, so none is still starting when the cleanup runs
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for _, m := range s.c.members {
		s.say("   %s: API %s, cluster transport %s, spool %s", m.id, m.api, m.cluster, m.spool)
	}
	return nil
}

func (s *steps) deliver() error {
	recs := makeRecords(len(s.posted), s.n)
	s.title(2, fmt.Sprintf("%d records posted to all three members in turn, %d tenants", len(recs), len(tenants)))
	if err := s.postAll(recs, s.c.members); err != nil {
		return err
	}
	if err := s.arrived(ids(recs), time.Minute, "every record at the webhook"); err != nil {
		return err
	}
	by, _ := s.wh.firstBy(ids(recs))
	s.say("   all %d arrived; delivered by %s: each member delivers only the queues it owns,", len(recs), byMember(by))
	s.say("   the records posted to another member were handed to it first")
	s.owners = map[string]string{}
	queuesOf := map[string][]string{}
	for tenant, ms := range s.wh.owners(ids(recs)) {
		if len(ms) != 1 {
			return fmt.Errorf("tenant %s was delivered by %d members: %v", tenant, len(ms), ms)
		}
		for m := range ms {
			s.owners[tenant] = m
			queuesOf[m] = append(queuesOf[m], tenant)
		}
	}
	for _, m := range s.c.members {
		slices.Sort(queuesOf[m.id])
		s.say("   %s owns the queues of %s", m.id, strings.Join(queuesOf[m.id], ", "))
	}
	s.killed = s.c.members[len(s.c.members)-1]
	s.res.killed, s.res.killedQueues = s.killed.id, queuesOf[s.killed.id]
	if len(queuesOf[s.killed.id]) == 0 {
		return fmt.Errorf("%s owns no queue: nothing to take over", s.killed.id)
	}
	return nil
}

func (s *steps) webhookDown() error {
	recs := makeRecords(len(s.posted), s.n)
	s.title(3, fmt.Sprintf("the webhook goes down (it answers 503); %d more records posted to all three", len(recs)))
	s.wh.down.Store(true)
	if err := s.postAll(recs, s.c.members); err != nil {
		return err
	}
	held := map[string]int{}
	err := waitFor(s.ctx, 30*time.Second, "every record queued at its owner", func() (bool, error) {
		total := 0
		for _, m := range s.c.members {
			n, _, err := s.c.heldBy(s.ctx, m)
			if err != nil {
				return false, err
			}
			held[m.id], total = n, total+n
		}
		return total == len(recs), nil
	})
	if err != nil {
		return fmt.Errorf("%w (the owners hold %s of %d)", err, byMember(held), len(recs))
	}
	s.say("   every member answered 200: the records are durable; the owners hold them and retry: %s", byMember(held))
	for _, r := range recs {
		if s.owners[r.Meta["tenant"]] == s.killed.id {
			s.spooledTo = append(s.spooledTo, r.ID)
		}
	}
	s.res.spooled = held[s.killed.id]
	return nil
}

func (s *steps) kill() error {
	s.title(4, fmt.Sprintf("%s is killed with SIGKILL", s.killed.id))
	if _, err := s.killed.signal(syscall.SIGKILL, 10*time.Second); err != nil {
		return err
	}
	killedAt := time.Now()
	s.say("   its spool keeps the %d messages of its queues (%s); they wait for it", s.res.spooled,
		strings.Join(s.res.killedQueues, ", "))
	survivors := s.c.members[:len(s.c.members)-1]
	recs := makeRecords(len(s.posted), s.n)
	if err := s.postAll(recs, survivors); err != nil {
		return err
	}
	s.say("   %d more records posted to the survivors: they are durable there at once, and those of %s's",
		len(recs), s.killed.id)
	s.say("   queues wait until the survivors declare it dead (--cluster-dead-after %v) and one of them owns the queue", deadAfter)
	takenBy := map[string]string{}
	err := waitFor(s.ctx, 20*time.Second, "the survivors owning "+s.killed.id+"'s queues", func() (bool, error) {
		for _, m := range survivors {
			qs, err := s.c.queues(s.ctx, m)
			if err != nil {
				return false, err
			}
			for _, q := range qs {
				if t, ok := strings.CutPrefix(q.Name, "webhook."); ok && slices.Contains(s.res.killedQueues, t) {
					takenBy[t] = m.id
				}
			}
		}
		return len(takenBy) == len(s.res.killedQueues), nil
	})
	if err != nil {
		return err
	}
	var moves []string
	for _, t := range s.res.killedQueues {
		moves = append(moves, t+" → "+takenBy[t])
	}
	s.say("   %.1f s after the kill the survivors own its queues: %s", time.Since(killedAt).Seconds(), strings.Join(moves, ", "))
	return nil
}

func (s *steps) webhookBack() error {
	s.title(5, "the webhook is back")
	s.wh.down.Store(false)
	var want, takeover []string
	last := s.posted[len(s.posted)-s.n:] // posted after the kill
	for _, r := range s.posted {
		if !slices.Contains(s.spooledTo, r.ID) {
			want = append(want, r.ID)
		}
	}
	for _, r := range last {
		if s.owners[r.Meta["tenant"]] == s.killed.id {
			takeover = append(takeover, r.ID)
		}
	}
	if err := s.arrived(want, time.Minute, "every record but those in "+s.killed.id+"'s spool"); err != nil {
		return err
	}
	s.res.takenOver, _ = s.wh.firstBy(takeover)
	s.say("   everything held by the survivors arrived; the %d records of %s's queues posted after its death", len(takeover), s.killed.id)
	s.say("   were delivered by %s", byMember(s.res.takenOver))
	s.say("   the %d records in %s's spool have not arrived (%d of them so far): they wait for it",
		len(s.spooledTo), s.killed.id, s.wh.has(s.spooledTo))
	return nil
}

func (s *steps) restart() error {
	s.title(6, fmt.Sprintf("%s restarts on its spool, with the same ID and address", s.killed.id))
	started := time.Now()
	if err := s.c.start(s.ctx, s.killed); err != nil {
		return err
	}
	s.say("   it replayed its spool and rejoined in %v", time.Since(started).Round(time.Millisecond))
	if err := s.arrived(s.spooledTo, time.Minute, "the records of "+s.killed.id+"'s spool"); err != nil {
		return err
	}
	var by map[string]int
	by, _ = s.wh.firstBy(s.spooledTo)
	s.res.spooledDeliveredBy = by
	s.say("   the %d records its spool held arrived %v after the restart, delivered by %s:", len(s.spooledTo),
		time.Since(started).Round(time.Millisecond), byMember(by))
	s.say("   back with its ID, %s owns its queues again: it delivers what its spool held for them itself, and", s.killed.id)
	s.say("   hands anything it held for another member's queue (accepted, not yet handed over when it was killed)")
	s.say("   to that queue's owner; the survivors handed its queues back before it delivered them")
	for _, m := range s.c.members {
		qs, err := s.c.queues(s.ctx, m)
		if err != nil {
			return err
		}
		var names []string
		for _, q := range qs {
			names = append(names, strings.TrimPrefix(q.Name, "webhook."))
		}
		slices.Sort(names)
		s.say("   %s owns %s", m.id, strings.Join(names, ", "))
	}
	return nil
}

func (s *steps) terminate() error {
	s.title(7, "every member is stopped with SIGTERM, one after the other")
	s.res.exits = map[string]int{}
	for _, m := range s.c.members {
		held, _, err := s.c.heldBy(s.ctx, m)
		if err != nil {
			return err
		}
		started := time.Now()
		code, err := m.signal(syscall.SIGTERM, 30*time.Second)
		if err != nil {
			return err
		}
		s.res.exits[m.id] = code
		how := "it left the cluster, handing them to the others,"
		if m == s.c.members[len(s.c.members)-1] {
			how = "the last member, it keeps them in its spool,"
		}
		s.say("   %s held %d messages; %s and exited %d in %v", m.id, held, how, code,
			time.Since(started).Round(time.Millisecond))
		if code != 0 {
			return fmt.Errorf("%s exited %d after SIGTERM; its log is %s%s", m.id, code, m.logPath, m.logTail())
		}
	}
	return nil
}

// final prints the counts.
func (s *steps) final() {
	distinct, duplicated, extra, posts := s.wh.totals()
	r := s.res
	r.posted, r.delivered, r.duplicated, r.extra, r.posts = len(s.posted), distinct, duplicated, extra, posts
	s.say("\nrecords posted %d, delivered %d, lost %d, duplicates %d (%d extra deliveries)", r.posted, r.delivered,
		r.posted-r.delivered, r.duplicated, r.extra)
	s.say("webhook POSTs accepted, by member: %s; %d refused while the webhook was down", byMember(posts), s.wh.refusedPosts())
}
