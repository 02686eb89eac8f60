// Package locallog writes the segment files of KumoMTA's local logs (kumo.configure_local_logs):
// zstd-compressed, newline-separated log lines, rotated by size and by age, named by the UTC time
// they were opened, and made read-only once complete.
//
// The package knows files, rotation, compression and naming. It does not know records: the caller
// has already chosen which records go to this logger (filter_event, per_record enable) and has
// rendered each one to its line (compact JSON or template text).
//
//	actor (owns the Writer)
//	  │  Write(type, line)            Tick() at Deadline()         Close() on shutdown
//	  ▼
//	Writer ── per_record[type] or per_record["Any"] or defaults ──► (dir, suffix)
//	  │
//	  ├─ one open segment per (dir, suffix):  <dir>/<YYYYmmdd-HHMMSS[.fff|.ffffff|.fffffffff]><suffix>
//	  │     segment_header (of the record that opened it), then lines, through a zstd stream encoder
//	  │
//	  └─ rotation after a write: uncompressed bytes ≥ MaxFileSize, or age ≥ MaxSegmentDuration;
//	     age is also checked by Tick and before every 10,000th Write
//	        close = finish the zstd frame, fsync, clear the write bits, close, fsync the directory
//
// # Caller's contract
//
//  1. Open once per configured logger. Open creates the log directories and marks every existing
//     non-dot regular file in them read-only, since no writer will append to them again.
//  2. Call Write for each record, in the order the records should appear. A Writer is safe for
//     concurrent use, but one owner calling it in order is what keeps lines ordered.
//  3. While idle, call Tick at or after Deadline (when Deadline reports one), so that segments
//     whose MaxSegmentDuration elapsed are closed even if no record arrives. Deadline can change
//     with every Write and Tick, so read it again after them. A Tick too early or too often is
//     harmless.
//  4. Call Flush when data written so far should be readable by a tailer or survive a crash of
//     this process (for example after a burst, or from a periodic timer).
//  5. Call Close on shutdown; it closes every open segment. Write after Close returns ErrClosed.
//
// # What a crash can lose
//
// The encoder buffers up to one zstd block (128 KiB of uncompressed lines) per open segment and
// writes complete blocks to the file as they fill. Flush writes the partial block too. So:
//
//   - A crash of this process loses, per open segment, the lines written since the last Flush that
//     were not yet part of a full block. Everything before that decompresses: the file holds a zstd
//     frame without its end, which decoders read up to the last complete block and then report as
//     truncated (zstdcat prints the data, then an error). The segment stays writable until the next
//     Open marks it read-only.
//   - A crash of the machine (power loss, kernel panic) can also lose what the kernel had not yet
//     written back: segments are fsynced only when they close. A read-only segment was fsynced,
//     with its directory, before its write bits were cleared, so a complete segment is durable.
//
// # Naming
//
// A segment is named by the UTC time it was opened, formatted as strftime "%Y%m%d-%H%M%S%.f" (the
// fraction has 0, 3, 6 or 9 digits, as needed to be exact), followed by the suffix. See
// FormatSegmentName and ParseSegmentName. Names of one (dir, suffix) never repeat and strictly
// increase: if the clock reads the same instant as (or an earlier one than) the previous segment of
// that pair, the name uses the previous name's time plus one nanosecond; if a file with the name
// already exists (left by an earlier run or another logger), the next nanosecond is tried. The
// file's age for MaxSegmentDuration is measured from the clock reading, not from the name.
package locallog
