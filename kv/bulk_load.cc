#include "kv/bulk_load.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace rocksfs::kv {

namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kBlockBytes = size_t{1} << 20;
// Fewer records than this per file are not worth a thread of their own.
constexpr size_t kMinRecordsPerPiece = 10000;

// One record of a run: its key and value sit back to back in the run's arena.
struct Entry {
  const char* data;
  uint32_t key_size;
  uint32_t value_size;

  std::string_view key() const { return {data, key_size}; }
  std::string_view value() const { return {data + key_size, value_size}; }
};

// A bounded batch of records, sorted and written as table files by a worker.
class Run {
 public:
  explicit Run(uint64_t index) : index_(index) {}

  uint64_t index() const { return index_; }
  size_t bytes() const { return bytes_; }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

  Status Add(const Record& record) {
    if (record.key.size() > UINT32_MAX || record.value.size() > UINT32_MAX) {
      return Status::InvalidArgument("a key or value larger than 4 GiB");
    }
    const size_t size = record.key.size() + record.value.size();
    if (blocks_.empty() || block_used_ + size > block_size_) {
      block_size_ = std::max(kBlockBytes, size);
      blocks_.push_back(std::make_unique<char[]>(block_size_));
      block_used_ = 0;
    }
    char* data = blocks_.back().get() + block_used_;
    std::copy(record.key.begin(), record.key.end(), data);
    std::copy(record.value.begin(), record.value.end(), data + record.key.size());
    block_used_ += size;
    entries_.push_back({data, static_cast<uint32_t>(record.key.size()),
                        static_cast<uint32_t>(record.value.size())});
    bytes_ += size + sizeof(Entry);
    return Status::Ok();
  }

  // Sorts by key and keeps, of equal keys, the one added last.
  void SortAndDeduplicate() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.key() < b.key(); });
    size_t out = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (i + 1 < entries_.size() && entries_[i + 1].key() == entries_[i].key()) continue;
      entries_[out++] = entries_[i];
    }
    entries_.resize(out);
  }

 private:
  const uint64_t index_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_size_ = 0;
  size_t block_used_ = 0;
  std::vector<Entry> entries_;
  size_t bytes_ = 0;
};

// A fixed set of threads running queued tasks.
class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and nothing left
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The state shared by the reader and the workers of one load.
class Loader {
 public:
  Loader(Store* store, ColumnFamily* cf, std::string staging, unsigned jobs)
      : store_(store), cf_(cf), staging_(std::move(staging)), jobs_(jobs), pool_(jobs) {}

  // Blocks while `jobs` runs are in flight, then hands `run` to the workers.
  // `only_run`: the input held nothing else, so split it across the workers.
  void Submit(std::unique_ptr<Run> run, bool only_run) {
    {
      std::unique_lock lock(mutex_);
      run_done_.wait(lock, [&] { return in_flight_ < jobs_; });
      ++in_flight_;
      ++runs_;
    }
    std::shared_ptr<Run> shared(std::move(run));
    pool_.Submit([this, shared, only_run] { SortRun(shared, only_run); });
  }

  // Waits for every submitted run to be written.
  void Drain() {
    std::unique_lock lock(mutex_);
    run_done_.wait(lock, [&] { return in_flight_ == 0; });
  }

  Status error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Stops the workers early: the load failed on the reader's side.
  void Abort() { failed_ = true; }
  uint64_t runs() {
    std::lock_guard lock(mutex_);
    return runs_;
  }

  // The written files in ingestion order: by run, then by key range.
  std::vector<std::string> Files() {
    std::lock_guard lock(mutex_);
    std::sort(files_.begin(), files_.end());
    std::vector<std::string> names;
    names.reserve(files_.size());
    for (auto& [order, name] : files_) names.push_back(name);
    return names;
  }
  uint64_t keys() const { return keys_.load(); }
  uint64_t bytes() const { return bytes_.load(); }

 private:
  void SortRun(const std::shared_ptr<Run>& run, bool only_run) {
    if (failed()) return Finished();
    run->SortAndDeduplicate();
    const size_t count = run->entries().size();
    size_t pieces = 1;
    if (only_run) pieces = std::clamp<size_t>(count / kMinRecordsPerPiece, 1, jobs_);
    auto remaining = std::make_shared<std::atomic<size_t>>(pieces);
    for (size_t piece = 0; piece < pieces; ++piece) {
      const size_t begin = count * piece / pieces;
      const size_t end = count * (piece + 1) / pieces;
      auto task = [this, run, remaining, piece, begin, end] {
        WritePiece(*run, piece, begin, end);
        if (remaining->fetch_sub(1) == 1) Finished();
      };
      if (piece + 1 == pieces) {
        task();  // this thread takes the last piece itself
      } else {
        pool_.Submit(std::move(task));
      }
    }
  }

  void WritePiece(const Run& run, size_t piece, size_t begin, size_t end) {
    if (failed() || begin == end) return;
    char name[64];
    std::snprintf(name, sizeof name, "run-%08llu-%04zu.sst",
                  static_cast<unsigned long long>(run.index()), piece);
    const std::string file = staging_ + "/" + name;
    std::unique_ptr<Store::TableWriter> writer;
    Status s = store_->NewTableWriter(cf_, file, &writer);
    uint64_t bytes = 0;
    for (size_t i = begin; s.ok() && i < end; ++i) {
      const Entry& entry = run.entries()[i];
      s = writer->Add(entry.key(), entry.value());
      bytes += entry.key_size + entry.value_size;
      // Stop early when another worker or the reader failed.
      if ((i & 0xfff) == 0 && failed()) return;
    }
    uint64_t file_bytes = 0;
    if (s.ok()) s = writer->Finish(&file_bytes);
    if (!s.ok()) return Fail(s);
    keys_ += end - begin;
    bytes_ += bytes;
    std::lock_guard lock(mutex_);
    files_.push_back({{run.index(), piece}, file});
  }

  void Fail(const Status& s) {
    std::lock_guard lock(mutex_);
    if (error_.ok()) error_ = s;
    failed_ = true;
  }

  void Finished() {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    run_done_.notify_all();
  }

  Store* const store_;
  ColumnFamily* const cf_;
  const std::string staging_;
  const unsigned jobs_;

  std::mutex mutex_;
  std::condition_variable run_done_;
  unsigned in_flight_ = 0;
  uint64_t runs_ = 0;
  Status error_;
  std::atomic<bool> failed_{false};
  std::vector<std::pair<std::pair<uint64_t, size_t>, std::string>> files_;
  std::atomic<uint64_t> keys_{0};
  std::atomic<uint64_t> bytes_{0};

  WorkerPool pool_;  // last: its threads stop before the state above goes
};

// Creates a fresh staging directory under `parent`.
Status MakeStagingDir(const std::string& parent, std::string* dir) {
  std::error_code ec;
  stdfs::create_directories(parent, ec);
  if (ec) return Status::IOError("cannot create " + parent + ": " + ec.message());
  std::string pattern = parent + "/load-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("cannot create a staging directory in " + parent);
  }
  *dir = std::move(pattern);
  return Status::Ok();
}

// Removes the staging directory (and any file left in it) on every path out.
class StagingGuard {
 public:
  explicit StagingGuard(std::string dir) : dir_(std::move(dir)) {}
  ~StagingGuard() {
    std::error_code ec;
    stdfs::remove_all(dir_, ec);
  }
  StagingGuard(const StagingGuard&) = delete;
  StagingGuard& operator=(const StagingGuard&) = delete;

 private:
  const std::string dir_;
};

}  // namespace

Status BulkLoad(Store* store, ColumnFamily* cf, RecordSource* source,
                const BulkLoadOptions& options, BulkLoadStats* stats) {
  *stats = BulkLoadStats();
  if (store->read_only()) return Status::ReadOnly();
  if (options.run_bytes == 0) return Status::InvalidArgument("run_bytes must be > 0");
  const Clock::time_point start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };

  BulkLoadProgress progress;
  progress.total_bytes = source->total_bytes();
  Clock::time_point next_report = start;
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.progress_interval_seconds));
  const auto report = [&](BulkLoadProgress::Phase phase, bool force) {
    if (!options.progress) return;
    const Clock::time_point now = Clock::now();
    if (!force && now < next_report) return;
    next_report = now + interval;
    progress.phase = phase;
    progress.records = stats->records;
    progress.bytes_read = source->bytes_read();
    progress.seconds = elapsed();
    options.progress(progress);
  };

  const std::string parent = options.staging_parent.empty()
                                 ? store->path() + "/.rocksfs/tmp"
                                 : options.staging_parent;
  std::string staging;
  Status s = MakeStagingDir(parent, &staging);
  if (!s.ok()) return s;
  StagingGuard guard(staging);

  unsigned jobs = options.jobs != 0 ? options.jobs : std::thread::hardware_concurrency();
  if (jobs == 0) jobs = 1;
  std::vector<std::string> files;
  {
    Loader loader(store, cf, staging, jobs);
    auto run = std::make_unique<Run>(0);
    Record record;
    report(BulkLoadProgress::Phase::kReading, true);
    while (true) {
      bool done = false;
      s = source->Next(&record, &done);
      if (!s.ok() || done) break;
      ++stats->records;
      s = run->Add(record);
      if (!s.ok()) break;
      if (run->bytes() >= options.run_bytes) {
        const uint64_t next = run->index() + 1;
        loader.Submit(std::move(run), /*only_run=*/false);
        run = std::make_unique<Run>(next);
        if (loader.failed()) break;
      }
      if ((stats->records & 0x3ff) == 0) report(BulkLoadProgress::Phase::kReading, false);
    }
    stats->skipped = source->skipped();
    if (s.ok() && !run->empty()) {
      const bool only = run->index() == 0;
      loader.Submit(std::move(run), only);
    }
    if (!s.ok()) loader.Abort();
    report(BulkLoadProgress::Phase::kWriting, true);
    loader.Drain();
    if (s.ok()) s = loader.error();
    stats->keys = loader.keys();
    stats->bytes = loader.bytes();
    files = loader.Files();
    stats->runs = loader.runs();
  }
  if (!s.ok()) {
    stats->seconds = elapsed();
    return s;
  }

  report(BulkLoadProgress::Phase::kIngesting, true);
  s = store->IngestTables(cf, files);
  if (!s.ok()) {
    stats->seconds = elapsed();
    return s;
  }
  stats->files = files.size();
  if (options.compact) {
    report(BulkLoadProgress::Phase::kCompacting, true);
    s = store->CompactAll(cf);
  }
  stats->seconds = elapsed();
  if (s.ok()) report(BulkLoadProgress::Phase::kDone, true);
  return s;
}

}  // namespace rocksfs::kv
