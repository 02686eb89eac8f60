package actors

import (
	"errors"
	"log/slog"
	"sync/atomic"
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

// localLogger is the actor of one kumo.configure_local_logs, on a loop (it owns a Lua state for
// filter_event, and writes files): it writes every record it is configured for (records about hook
// messages included) to zstd segment files, after per_record enable, filter_event and meta/header
// capture.
type localLogger struct {
	cfg                *config.LocalLogs
	p                  LocalPorts
	w                  *locallog.Writer
	state              *lua.State // for filter_event
	pid                *actor.PID
	timer              clock.Timer
	armed              time.Time
	space              clock.Timer
	low                bool
	minFree, minInodes segment.Threshold
}

// LocalPorts are what a local logger uses.
type LocalPorts struct {
	Policies Policies
	Credits  *Credits // its back_pressure, one per record, returned as each is written
	Send     Sender
	Clock    clock.Clock
	Log      *slog.Logger
	// LowSpace counts the local loggers whose directory is below its free-space threshold: the
	// node refuses new records while it is above zero.
	LowSpace *atomic.Int32
}

// localTick wakes a local logger to close expired segments; spaceTick to check free space.
type localTick struct{}
type spaceTick struct{}

func (l *localLogger) Receive(c *loopCtx, msgs []actor.Envelope) {
	for _, env := range msgs {
		switch m := env.Msg.(type) {
		case actor.Started:
			l.pid = c.PID()
			l.start()
		case actor.Stopped:
			l.stop()
		case LogBatch:
			l.refresh()
			for i := range m.Records {
				l.write(&m.Records[i])
			}
			l.p.Credits.Release(len(m.Records))
			l.arm()
		case localTick:
			l.armed = time.Time{}
			if l.w != nil {
				if err := l.w.Tick(); err != nil {
					l.p.Log.Error("local log rotation", "dir", l.cfg.LogDir, "error", err)
				}
			}
			l.arm()
		case spaceTick:
			l.checkSpace()
		}
	}
}

// refresh moves filter_event's state to a reloaded policy.
func (l *localLogger) refresh() {
	cur := l.p.Policies.Current()
	if l.state == nil || l.state.Policy() == cur {
		return
	}
	l.state.Close()
	var err error
	if l.state, err = cur.NewState(); err != nil {
		l.p.Log.Error("local logs: cannot load the reloaded policy for filter_event", "error", err)
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
		Clock: l.p.Clock, Logger: l.p.Log})
	if err != nil {
		l.p.Log.Error("local logs cannot be written", "dir", l.cfg.LogDir, "at", l.cfg.Where, "error", err)
	}
	if l.cfg.FilterEvent != "" {
		if l.state, err = l.p.Policies.Current().NewState(); err != nil {
			l.p.Log.Error("local logs: cannot load the policy for filter_event", "error", err)
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
		l.p.LowSpace.Add(-1)
		l.low = false
	}
	if l.w != nil {
		if err := l.w.Close(); err != nil {
			l.p.Log.Error("closing local logs", "dir", l.cfg.LogDir, "error", err)
		}
		l.w = nil
	}
	l.state.Close()
	l.state = nil
}

// write logs one record, if this logger wants it.
func (l *localLogger) write(ev *Record) {
	rec := &ev.Log
	if l.w == nil || !l.cfg.Enabled(rec.Type) {
		return
	}
	if l.cfg.FilterEvent != "" && rec.Type != message.Rejection {
		if l.state == nil {
			return
		}
		keep, err := l.state.Filter(l.cfg.FilterEvent, &lua.Message{Msg: recordMessage(ev), Record: rec})
		if err != nil {
			l.p.Log.Error("local logs: filter_event failed; the record is not logged", "event", l.cfg.FilterEvent, "error", err)
			if l.state.Broken() { // interrupted: never reused
				l.state.Close()
				if l.state, err = l.p.Policies.Current().NewState(); err != nil {
					l.p.Log.Error("local logs: cannot reload the policy for filter_event", "error", err)
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
			l.p.Log.Error("local logs: the record's template failed; the record is not logged", "type", rec.Type, "error", err)
			return
		}
	} else {
		line = captured.AppendJSON(make([]byte, 0, 1024))
	}
	if err := l.w.Write(string(rec.Type), line); err != nil {
		l.p.Log.Error("writing a local log record", "dir", l.cfg.LogDir, "error", err)
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
	pid, send := l.pid, l.p.Send
	l.armed = at
	l.timer = l.p.Clock.At(at, func() { send.Send(pid, localTick{}) })
}

// checkSpace refuses new records (through the system) while the log directory is low on space.
func (l *localLogger) checkSpace() {
	sp, err := segment.OS.Space(l.cfg.LogDir)
	if err == nil {
		low := l.minFree.Below(sp.FreeBytes, sp.TotalBytes) || l.minInodes.Below(sp.FreeInodes, sp.TotalInodes)
		if low != l.low {
			l.low = low
			if low {
				l.p.LowSpace.Add(1)
				l.p.Log.Error("local log directory below its minimum free space: refusing new records", "dir", l.cfg.LogDir)
			} else {
				l.p.LowSpace.Add(-1)
			}
		}
	}
	pid, send := l.pid, l.p.Send
	l.space = l.p.Clock.AfterFunc(spaceCheckEvery, func() { send.Send(pid, spaceTick{}) })
}
