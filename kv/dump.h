// Dump: writes the keys of a column family (or of one prefix of it) to a
// RecordSink, in key order, from one consistent snapshot.
//
// Thread-safety: Dump may be called from any thread, concurrently with
// writers of the store (it reads a snapshot taken at the start).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kv/record_stream.h"
#include "kv/status.h"
#include "kv/store.h"

namespace rocksfs::kv {

struct DumpProgress {
  uint64_t keys = 0;
  uint64_t bytes = 0;  // key + value bytes
  double seconds = 0;
};

struct DumpOptions {
  // Only keys that start with this (all keys when empty).
  std::string prefix;
  // Fill RecordSink::Write's `has_children` (some key starts with key +
  // delimiter): costs one seek per key; tree sinks need it.
  bool with_children = false;
  char delimiter = '/';
  // Called on the calling thread about every progress_interval_seconds.
  std::function<void(const DumpProgress&)> progress;
  double progress_interval_seconds = 0.2;
};

struct DumpStats {
  uint64_t keys = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

// Writes every selected key of `cf` to `sink`, then calls sink->Finish().
// Errors: the store's (kIOError, kCorruption) and the sink's.
[[nodiscard]] Status Dump(Store* store, ColumnFamily* cf, const DumpOptions& options,
                          RecordSink* sink, DumpStats* stats);

}  // namespace rocksfs::kv
