package locallog

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/clock"
)

// DefaultMaxFileSize is the uncompressed size at which a segment is closed when Config.MaxFileSize
// is 0: KumoMTA's max_file_size default.
const DefaultMaxFileSize = 1_000_000_000

// AnyRecord is the PerRecord key whose params apply to record types without their own entry.
const AnyRecord = "Any"

// maxCompressionLevel is the highest zstd level (zstd --ultra -22).
const maxCompressionLevel = 22

// windowSize is the zstd window: 2 MiB, the window of zstd level 3 (KumoMTA's default level). An
// open segment's encoder then holds about 5 MiB at the default level (the encoder's own default, an
// 8 MiB window, would double that), 8 MiB at 6..9 and 40 MiB at 10 and above.
const windowSize = 2 << 20

// Config is a local logger's file settings: KumoMTA's configure_local_logs parameters that concern
// files. Filtering, templates, meta, headers, back_pressure and free-space checks belong to the
// caller.
type Config struct {
	// LogDir is where segments go unless a record's params name another directory. Required.
	// Open creates it, with its parents.
	LogDir string
	// MaxFileSize is the number of uncompressed line bytes after which a segment is closed (a
	// segment is closed after the write that reaches it, so it can be exceeded by one line). The
	// segment header is not counted, as in KumoMTA. 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// CompressionLevel is KumoMTA's compression_level, mapped onto the zstd encoder's levels:
	//
	//	 0        default        (≈ zstd level 3)
	//	<0, 1..2  fastest        (≈ zstd level 1; zstd's negative levels are faster still)
	//	3..5      default        (≈ zstd level 3)
	//	6..9      better         (≈ zstd level 7)
	//	10..22    best           (≈ zstd level 11)
	//
	// Above 22 is an error. Compression cannot be disabled.
	CompressionLevel int
	// MaxSegmentDuration closes a segment once it has been open this long. 0 means no limit.
	MaxSegmentDuration time.Duration
	// PerRecord holds settings by record type name ("Delivery", "Reception", ...) and AnyRecord.
	// A record type uses its own entry if present, else the AnyRecord entry, else the defaults
	// (LogDir, no suffix, no header). An entry is taken whole: fields it leaves empty are not
	// filled from AnyRecord.
	PerRecord map[string]RecordParams
	// Clock gives the time segments are opened and aged by. nil means clock.Real.
	Clock clock.Clock
	// Logger receives warnings about leftover files that could not be made read-only. nil means
	// slog.Default().
	Logger *slog.Logger
}

// RecordParams is the file part of KumoMTA's per_record settings for one record type.
type RecordParams struct {
	// Suffix is appended to segment names. Records with different suffixes (or directories) go to
	// different segments. It may not contain a path separator.
	Suffix string
	// LogDir replaces Config.LogDir for these records when not empty. Open creates it.
	LogDir string
	// SegmentHeader is written verbatim (no newline is added) at the start of every segment that a
	// record of this type opens.
	SegmentHeader string
}

// settings is a validated Config.
type settings struct {
	dir       string
	maxSize   int64
	level     zstd.EncoderLevel
	maxAge    time.Duration
	perRecord map[string]RecordParams
	clock     clock.Clock
	logger    *slog.Logger
}

func (c *Config) validate() (*settings, error) {
	if c.LogDir == "" {
		return nil, errors.New("locallog: LogDir is required")
	}
	if c.MaxFileSize < 0 {
		return nil, fmt.Errorf("locallog: MaxFileSize %d is negative", c.MaxFileSize)
	}
	if c.MaxSegmentDuration < 0 {
		return nil, fmt.Errorf("locallog: MaxSegmentDuration %v is negative", c.MaxSegmentDuration)
	}
	level, err := encoderLevel(c.CompressionLevel)
	if err != nil {
		return nil, err
	}
	s := &settings{
		dir:       filepath.Clean(c.LogDir),
		maxSize:   c.MaxFileSize,
		level:     level,
		maxAge:    c.MaxSegmentDuration,
		perRecord: make(map[string]RecordParams, len(c.PerRecord)),
		clock:     c.Clock,
		logger:    c.Logger,
	}
	if s.maxSize == 0 {
		s.maxSize = DefaultMaxFileSize
	}
	if s.clock == nil {
		s.clock = clock.Real
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	for kind, p := range c.PerRecord {
		if strings.ContainsRune(p.Suffix, '/') || strings.ContainsRune(p.Suffix, filepath.Separator) {
			return nil, fmt.Errorf("locallog: per_record %s: suffix %q contains a path separator", kind, p.Suffix)
		}
		if p.LogDir != "" {
			p.LogDir = filepath.Clean(p.LogDir)
		}
		s.perRecord[kind] = p
	}
	return s, nil
}

// encoderLevel maps a KumoMTA compression_level onto the zstd encoder's levels (see
// Config.CompressionLevel).
func encoderLevel(level int) (zstd.EncoderLevel, error) {
	switch {
	case level > maxCompressionLevel:
		return 0, fmt.Errorf("locallog: compression level %d is above %d", level, maxCompressionLevel)
	case level == 0:
		return zstd.SpeedDefault, nil
	case level < 0:
		return zstd.SpeedFastest, nil
	default:
		return zstd.EncoderLevelFromZstd(level), nil
	}
}

// params returns the settings for a record type: its own entry, else AnyRecord's, else defaults.
func (s *settings) params(recordType string) RecordParams {
	if p, ok := s.perRecord[recordType]; ok {
		return p
	}
	return s.perRecord[AnyRecord]
}

// key returns the (dir, suffix) pair whose segment receives records with params p.
func (s *settings) key(p RecordParams) segKey {
	dir := p.LogDir
	if dir == "" {
		dir = s.dir
	}
	return segKey{dir: dir, suffix: p.Suffix}
}

// dirs returns every log directory the settings name, main one first, without duplicates.
func (s *settings) dirs() []string {
	dirs := []string{s.dir}
	seen := map[string]bool{s.dir: true}
	for _, p := range s.perRecord {
		if p.LogDir != "" && !seen[p.LogDir] {
			seen[p.LogDir] = true
			dirs = append(dirs, p.LogDir)
		}
	}
	slices.Sort(dirs[1:])
	return dirs
}
