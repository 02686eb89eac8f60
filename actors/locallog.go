package actors

import (
	"errors"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence/locallog"
	"github.com/hookd/hookd/persistence/segment"
)

// spaceCheckEvery is how often a local logger looks at its disk's free space.
const spaceCheckEvery = 10 * time.Second

// ErrLogSpace refuses new records while a local log directory is below its free-space threshold.
var ErrLogSpace = errors.New("hookd: a local log directory is below its minimum free space")

// localLogger is the actor of one kumo.configure_local_logs: it writes every record it is configured
// for (records about hook messages included) to zstd segment files, after per_record enable,
// filter_event and meta/header capture.
type localLogger struct {
	sys                *System
	cfg                *config.LocalLogs
	credits            *Credits
	w                  *locallog.Writer
	state              *lua.State // for filter_event
	pid                *actor.PID
	timer              clock.Timer
	armed              time.Time
	space              clock.Timer
	low                bool
	minFree, minInodes segment.Threshold
}

// localRef is what the system keeps about a local logger.
type localRef struct {
	cfg     *config.LocalLogs
	pid     *actor.PID
	credits *Credits
}

// localTick wakes a local logger to close expired segments; spaceTick to check free space.
type localTick struct{}
type spaceTick struct{}

func (l *localLogger) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		l.pid = c.PID()
		l.start()
	case actor.Stopped:
		l.stop()
	case logBatch:
		if l.state != nil && l.state.Policy() != l.sys.Policy() { // reloaded
			l.state.Close()
			var err error
			if l.state, err = l.sys.Policy().NewState(); err != nil {
				l.sys.log.Error("local logs: cannot load the reloaded policy for filter_event", "error", err)
			}
		}
		for _, ev := range m.events {
			l.write(ev)
			l.credits.Release(1)
		}
		l.arm()
	case localTick:
		l.armed = time.Time{}
		if l.w != nil {
			if err := l.w.Tick(); err != nil {
				l.sys.log.Error("local log rotation", "dir", l.cfg.LogDir, "error", err)
			}
		}
		l.arm()
	case spaceTick:
		l.checkSpace()
	}
}

func (l *localLogger) start() {
	per := map[string]locallog.RecordParams{}
	for t, p := range l.cfg.PerRecord {
		rp := locallog.RecordParams{SegmentHeader: p.SegmentHeader}
		if p.Suffix != nil {
			rp.Suffix = *p.Suffix
		}
		if p.LogDir != nil {
			rp.LogDir = *p.LogDir
		}
		per[string(t)] = rp
	}
	var err error
	l.w, err = locallog.Open(locallog.Config{LogDir: l.cfg.LogDir, MaxFileSize: l.cfg.MaxFileSize,
		CompressionLevel: l.cfg.CompressionLevel, MaxSegmentDuration: l.cfg.MaxSegmentDuration, PerRecord: per,
		Clock: l.sys.clock, Logger: l.sys.log})
	if err != nil {
		l.sys.log.Error("local logs cannot be written", "dir", l.cfg.LogDir, "at", l.cfg.Where, "error", err)
	}
	if l.cfg.FilterEvent != "" {
		if l.state, err = l.sys.Policy().NewState(); err != nil {
			l.sys.log.Error("local logs: cannot load the policy for filter_event", "error", err)
		}
	}
	l.minFree, _ = parseThreshold(l.cfg.MinFreeSpace)
	l.minInodes, _ = parseThreshold(l.cfg.MinFreeInodes)
	l.checkSpace()
}

func parseThreshold(s string) (segment.Threshold, error) {
	if s == "" {
		return segment.Threshold{Percent: 10}, nil
	}
	return segment.ParseThreshold(s)
}

func (l *localLogger) stop() {
	for _, t := range []clock.Timer{l.timer, l.space} {
		if t != nil {
			t.Stop()
		}
	}
	if l.low {
		l.sys.lowLogSpace.Add(-1)
		l.low = false
	}
	if l.w != nil {
		if err := l.w.Close(); err != nil {
			l.sys.log.Error("closing local logs", "dir", l.cfg.LogDir, "error", err)
		}
		l.w = nil
	}
	l.state.Close()
	l.state = nil
}

// write logs one record, if this logger wants it.
func (l *localLogger) write(ev *Event) {
	rec := ev.Record
	if l.w == nil || !l.cfg.Enabled(rec.Type) {
		return
	}
	if l.cfg.FilterEvent != "" && rec.Type != message.Rejection {
		if l.state == nil {
			return
		}
		keep, err := l.state.Filter(l.cfg.FilterEvent, &lua.Message{Msg: eventMessage(ev), Record: rec})
		if err != nil {
			l.sys.log.Error("local logs: filter_event failed; the record is not logged", "event", l.cfg.FilterEvent, "error", err)
			if l.state.Broken() { // interrupted: never reused
				l.state.Close()
				if l.state, err = l.sys.Policy().NewState(); err != nil {
					l.sys.log.Error("local logs: cannot reload the policy for filter_event", "error", err)
				}
			}
			return
		}
		if !keep {
			return
		}
	}
	captured := captureRecord(ev, l.cfg.Meta, l.cfg.Headers)
	var line []byte
	if t := l.cfg.TemplateFor(rec.Type); t != nil {
		var err error
		if line, err = t.Render(captured); err != nil {
			l.sys.log.Error("local logs: the record's template failed; the record is not logged", "type", rec.Type, "error", err)
			return
		}
	} else {
		line = captured.AppendJSON(make([]byte, 0, 1024))
	}
	if err := l.w.Write(string(rec.Type), line); err != nil {
		l.sys.log.Error("writing a local log record", "dir", l.cfg.LogDir, "error", err)
	}
}

// arm makes sure a localTick arrives when the oldest open segment expires.
func (l *localLogger) arm() {
	if l.w == nil {
		return
	}
	at, ok := l.w.Deadline()
	if !ok || (l.timer != nil && l.armed.Equal(at)) {
		return
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	pid, engine := l.pid, l.sys.engine
	l.armed = at
	l.timer = l.sys.clock.At(at, func() { engine.Send(pid, localTick{}) })
}

// checkSpace refuses new records (through the system) while the log directory is low on space.
func (l *localLogger) checkSpace() {
	sp, err := segment.OS.Space(l.cfg.LogDir)
	if err == nil {
		low := l.minFree.Below(sp.FreeBytes, sp.TotalBytes) || l.minInodes.Below(sp.FreeInodes, sp.TotalInodes)
		if low != l.low {
			l.low = low
			if low {
				l.sys.lowLogSpace.Add(1)
				l.sys.log.Error("local log directory below its minimum free space: refusing new records", "dir", l.cfg.LogDir)
			} else {
				l.sys.lowLogSpace.Add(-1)
			}
		}
	}
	pid, engine := l.pid, l.sys.engine
	l.space = l.sys.clock.AfterFunc(spaceCheckEvery, func() { engine.Send(pid, spaceTick{}) })
}

// eventMessage is the message a record is about, for filter_event: the real one when the engine
// produced the record, else one rebuilt from the record's envelope and meta.
func eventMessage(ev *Event) *message.Message {
	if ev.Msg != nil {
		return ev.Msg
	}
	r := ev.Record
	m := &message.Message{Meta: ev.Meta}
	m.ID, _ = message.ParseSpoolID(r.ID)
	m.Sender, _ = message.ParseAddress(r.Sender)
	for _, rc := range r.Recipient {
		if a, err := message.ParseAddress(rc); err == nil {
			m.Recipients = append(m.Recipients, a)
		}
	}
	return m
}
