// Streams of key/value records: what `rocksfs load` reads and `rocksfs dump`
// writes, in any of the formats of RecordFormat.
//
// A RecordSource yields records in input order (bulk loads sort them); a
// RecordSink receives them in key order. Text formats are described in
// kv/record_codec.h; directory trees are fs/tree_io.h; SST files are
// kv/sst_records.h.
//
// Thread-safety: a source or sink belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kv/status.h"

namespace rocksfs::kv {

struct Record {
  std::string key;
  std::string value;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Reads the next record into *record, or sets *done at the end (then
  // *record is unspecified). Errors name the input and the position, e.g.
  // "data.tsv:12: no TAB between key and value", and are final.
  [[nodiscard]] virtual Status Next(Record* record, bool* done) = 0;
  // Input bytes consumed so far, and in all (0: unknown), for progress.
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t total_bytes() const = 0;
  // Input items passed over (e.g. symlinks in a tree), for the summary.
  virtual uint64_t skipped() const { return 0; }
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // REQUIRES: keys strictly increasing. `has_children`: some other key
  // starts with key + the delimiter (filled in when DumpOptions asks, for
  // tree sinks; false otherwise).
  [[nodiscard]] virtual Status Write(std::string_view key, std::string_view value,
                                     bool has_children) = 0;
  // Completes the output (flushes, closes). Nothing is complete before.
  [[nodiscard]] virtual Status Finish() = 0;
};

enum class RecordFormat { kTree, kTsv, kNdjson, kSst };

// "tree", "tsv", "ndjson" (also "jsonl"), "sst".
[[nodiscard]] bool ParseRecordFormat(std::string_view name, RecordFormat* format);
std::string_view RecordFormatName(RecordFormat format);
// From a file name's extension: .tsv, .ndjson/.jsonl, .sst. False if none.
[[nodiscard]] bool RecordFormatFromExtension(std::string_view path, RecordFormat* format);

// Reads tsv or ndjson records from `path` ("-": standard input). Blank lines
// are skipped (for tsv: empty lines; a line with only a TAB is the empty key
// with the empty value). Errors: kNotFound / kIOError opening the file.
[[nodiscard]] Status OpenTextRecordSource(const std::string& path, RecordFormat format,
                                          std::unique_ptr<RecordSource>* source);
// Writes tsv or ndjson records to `path` ("-": standard output), created or
// truncated.
[[nodiscard]] Status OpenTextRecordSink(const std::string& path, RecordFormat format,
                                        std::unique_ptr<RecordSink>* sink);

}  // namespace rocksfs::kv
