package engine

import (
	"fmt"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/segment"
)

// openSpool opens the spool the configuration asks for: Config.spool as given; memory for
// Config.InMemory; else a segment store
// in Config.SpoolDir, or in the directory of the policy's kumo.define_spool (the one named "data"
// when there are several); else a spool in memory.
func (e *Engine) openSpool() (persistence.Spool, string, error) {
	if e.cfg.spool != nil {
		return e.cfg.spool, "given", nil
	}
	if e.cfg.InMemory {
		return persistence.NewMemory(), "memory", nil
	}
	def := pickSpool(e.policy.Config().Spools)
	dir := e.cfg.SpoolDir
	if dir == "" && def != nil {
		dir = def.Path
	}
	if dir == "" {
		dir = e.cfg.DefaultSpoolDir
	}
	if dir == "" {
		e.cfg.Logger.Warn("no spool directory configured: queued messages are kept in memory and lost when the process ends")
		return persistence.NewMemory(), "memory", nil
	}
	opts := segment.Options{Dir: dir, Logger: e.cfg.Logger}
	if def != nil {
		var err error
		if opts.MinFreeSpace, err = threshold(def.MinFreeSpace); err != nil {
			return nil, "", fmt.Errorf("%s: define_spool: min_free_space: %w", def.Where, err)
		}
		if opts.MinFreeInodes, err = threshold(def.MinFreeInodes); err != nil {
			return nil, "", fmt.Errorf("%s: define_spool: min_free_inodes: %w", def.Where, err)
		}
	}
	st, err := segment.Open(opts)
	if err != nil {
		return nil, "", err
	}
	rep := st.Report()
	e.cfg.Logger.Info("spool opened", "dir", dir, "segments", rep.Segments, "messages", rep.Live,
		"repairs", len(rep.Repairs), "took", rep.Took)
	return st, dir, nil
}

func pickSpool(spools []*config.Spool) *config.Spool {
	for _, s := range spools {
		if s.Name == "data" {
			return s
		}
	}
	if len(spools) > 0 {
		return spools[0]
	}
	return nil
}

func threshold(s string) (segment.Threshold, error) {
	if s == "" {
		return segment.Threshold{}, nil
	}
	return segment.ParseThreshold(s)
}

// lowSpacer is implemented by spools that watch their disk's free space.
type lowSpacer interface{ LowSpace() bool }
