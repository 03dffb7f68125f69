#include "kv/dump.h"

#include <chrono>

namespace rocksfs::kv {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

Status Dump(Store* store, ColumnFamily* cf, const DumpOptions& options, RecordSink* sink,
            DumpStats* stats) {
  *stats = DumpStats();
  const Clock::time_point start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.progress_interval_seconds));
  Clock::time_point next_report = start + interval;

  std::shared_ptr<const Snapshot> snapshot = store->GetSnapshot();
  ScanOptions scan;
  scan.lower_bound = options.prefix;
  scan.upper_bound = PrefixSuccessor(options.prefix);
  scan.snapshot = snapshot.get();
  scan.fill_cache = false;
  std::unique_ptr<Iterator> it = store->NewIterator(cf, scan);
  std::unique_ptr<Iterator> children;
  if (options.with_children) {
    ScanOptions child_scan = scan;
    child_scan.lower_bound.clear();  // child seeks go anywhere in the prefix
    children = store->NewIterator(cf, child_scan);
  }

  std::string probe;
  for (it->Seek(options.prefix); it->Valid(); it->Next()) {
    bool has_children = false;
    if (children) {
      probe.assign(it->key());
      probe.push_back(options.delimiter);
      children->Seek(probe);
      has_children = children->Valid() && children->key().starts_with(probe);
      Status s = children->status();
      if (!s.ok()) return s;
    }
    Status s = sink->Write(it->key(), it->value(), has_children);
    if (!s.ok()) return s;
    ++stats->keys;
    stats->bytes += it->key().size() + it->value().size();
    if (options.progress && (stats->keys & 0x3ff) == 0 && Clock::now() >= next_report) {
      next_report = Clock::now() + interval;
      options.progress({stats->keys, stats->bytes, elapsed()});
    }
  }
  Status s = it->status();
  if (!s.ok()) return s;
  s = sink->Finish();
  stats->seconds = elapsed();
  return s;
}

}  // namespace rocksfs::kv
