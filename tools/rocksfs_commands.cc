#include "tools/rocksfs_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fs/tree_io.h"
#include "kv/backup.h"
#include "kv/bulk_load.h"
#include "kv/db_lock.h"
#include "kv/dump.h"
#ifdef ROCKSFS_WITH_ETCD
#include "kv/etcd_store.h"
#endif
#include "kv/record_codec.h"
#include "kv/record_stream.h"
#include "kv/rocks_store.h"
#include "kv/snapshots.h"
#include "kv/sst_records.h"
#include "tools/rocksfs_progress.h"

namespace rocksfs::tools {

namespace {

namespace stdfs = std::filesystem;
using kv::Status;

constexpr std::string_view kMetaPrefix = "rocksfs.meta";

// Prints "rocksfs: " and the printf-formatted message on one line to
// stderr; returns the exit status 1. The compiler checks the format.
[[gnu::format(printf, 1, 2)]] int Fail(const char* format, ...) {
  std::fputs("rocksfs: ", stderr);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  return 1;
}

int Fail(const std::string& message) { return Fail("%s", message.c_str()); }

std::string Describe(const Status& s) { return s.message().empty() ? s.ToString() : s.message(); }

bool ParseDelimiter(const std::string& text, char* delimiter) {
  if (text.size() != 1 || text[0] == '%') return false;
  *delimiter = text[0];
  return true;
}

bool IsMetadataFamily(std::string_view name) { return name.starts_with(kMetaPrefix); }

bool DbExists(const std::string& path) {
  std::error_code ec;
  return stdfs::exists(stdfs::path(path) / "CURRENT", ec);
}

enum class Access {
  kWrite,           // read-write; a locked DB is an error
  kRead,            // read-only (works on a live DB)
  kWritePreferred,  // read-write, or read-only when another process holds the DB
};

struct OpenRequest {
  std::string db;  // canonical
  Access access = Access::kRead;
  bool create = false;
  int32_t ttl_seconds = 0;
  // After "DB is mounted at MNT; " when a read-write open meets a mount.
  std::string mounted_hint;
};

// What is holding `db`, as the first half of a one-line message.
std::string InUseBy(const std::string& db, std::string* mountpoint) {
  *mountpoint = kv::FindRocksfsMount(db);
  if (!mountpoint->empty()) return db + " is mounted at " + *mountpoint;
  return db + " is in use by another process (RocksDB's LOCK is held)";
}

// Opens the store, printing a one-line error on failure. *fell_back: a
// kWritePreferred open went read-only because the DB was in use.
int OpenDb(const OpenRequest& request, std::unique_ptr<kv::Store>* store,
           bool* fell_back = nullptr) {
  if (fell_back != nullptr) *fell_back = false;
  kv::RocksOpenOptions options;
  options.path = request.db;
  options.ttl_seconds = request.ttl_seconds;
  options.create_if_missing = request.create && request.access == Access::kWrite;
  options.mode = request.access == Access::kRead ? kv::OpenMode::kReadOnly : kv::OpenMode::kReadWrite;
  options.block_cache_bytes = 256ull << 20;
  // The tickers of a short-lived open are all but zero: `stat` shows only
  // rocksdb.stats, which describes the DB's files.
  options.statistics = false;
  Status s = kv::OpenRocksStore(options, store);
  if (s.code() == kv::Code::kBusy) {
    std::string mountpoint;
    const std::string who = InUseBy(request.db, &mountpoint);
    if (request.access == Access::kWritePreferred) {
      options.mode = kv::OpenMode::kReadOnly;
      s = kv::OpenRocksStore(options, store);
      if (s.ok()) {
        if (fell_back != nullptr) *fell_back = true;
        std::fprintf(stderr, "rocksfs: note: %s; reading it through a read-only open\n",
                     who.c_str());
        return 0;
      }
    } else if (!mountpoint.empty()) {
      return Fail(who + "; " + request.mounted_hint);
    } else {
      return Fail(who + "; stop that process first");
    }
  }
  // A read-only open of a live DB can race with the writer deleting a WAL
  // it just flushed: try again.
  for (int attempt = 0; !s.ok() && options.mode == kv::OpenMode::kReadOnly && attempt < 3 &&
                        kv::IsDatabaseLocked(request.db) &&
                        (s.code() == kv::Code::kIOError || s.code() == kv::Code::kNotFound ||
                         s.code() == kv::Code::kCorruption);
       ++attempt) {
    ::usleep(100000);
    s = kv::OpenRocksStore(options, store);
  }
  if (s.IsNotFound() && !DbExists(request.db)) {
    if (request.access == Access::kWrite && !request.create) {
      return Fail("no database at " + request.db + " (use --create to create one)");
    }
    return Fail("no database at " + request.db);
  }
  if (!s.ok()) return Fail("cannot open " + request.db + ": " + s.ToString());
  return 0;
}

// An etcd cluster (etcd://HOST:PORT,...) rather than a database directory.
bool IsCluster(const std::string& source) { return source.find("://") != std::string::npos; }

// Opens the keys under `prefix` of the cluster `url`, read-only, printing a
// one-line error on failure.
int OpenCluster(const std::string& url, const std::string& prefix,
                std::unique_ptr<kv::Store>* store) {
#ifdef ROCKSFS_WITH_ETCD
  kv::EtcdOpenOptions options;
  Status s = kv::ParseEtcdUrl(url, &options.endpoints);
  if (!s.ok()) return Fail(Describe(s));
  if (prefix.empty()) return Fail("give the mount's key prefix with --etcd-prefix P");
  options.prefix = prefix;
  options.read_only = true;
  s = kv::OpenEtcdStore(options, store);
  if (!s.ok()) return Fail(Describe(s));
  return 0;
#else
  return Fail("this rocksfs was built without the etcd engine (see scripts/setup.sh)");
#endif
}

int GetFamily(kv::Store* store, const std::string& name, bool create, kv::ColumnFamily** cf) {
  Status s = store->GetColumnFamily(name, create, cf);
  if (s.IsNotFound()) {
    return Fail("no column family named " + name + " in " + store->path() +
                (create ? "" : " (load with --create to create it)"));
  }
  if (!s.ok()) return Fail("column family " + name + ": " + Describe(s));
  return 0;
}

std::string Rate(uint64_t count, double seconds) {
  return std::to_string(seconds > 0 ? static_cast<uint64_t>(count / seconds) : count);
}

std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", seconds);
  return text;
}

std::string LoadProgressText(const kv::BulkLoadProgress& p) {
  using Phase = kv::BulkLoadProgress::Phase;
  switch (p.phase) {
    case Phase::kReading: {
      std::string text = "loading: " + FormatCount(p.records) + " records, " +
                         FormatCount(p.seconds > 0 ? static_cast<uint64_t>(p.records / p.seconds) : 0) +
                         " keys/s";
      if (p.total_bytes > 0) {
        const double fraction = std::min(1.0, static_cast<double>(p.bytes_read) / p.total_bytes);
        char percent[32];
        std::snprintf(percent, sizeof percent, ", %.1f%%", fraction * 100);
        text += percent;
        if (fraction > 0.001 && p.seconds > 0.5) {
          text += ", ETA " + FormatDuration(p.seconds / fraction - p.seconds);
        }
      } else {
        text += ", " + FormatBytes(p.bytes_read) + " read";
      }
      return text;
    }
    case Phase::kWriting:
      return "loading: " + FormatCount(p.records) + " records read; writing table files...";
    case Phase::kIngesting:
      return "loading: " + FormatCount(p.records) + " records; ingesting...";
    case Phase::kCompacting:
      return "loading: " + FormatCount(p.records) + " records; compacting...";
    case Phase::kDone:
      return "";
  }
  return "";
}

}  // namespace

// ---- load -------------------------------------------------------------------

int RunLoad(const LoadCommand& command) {
  char delimiter;
  if (!ParseDelimiter(command.delimiter, &delimiter)) {
    return Fail("--delimiter must be one byte other than '%%'");
  }
  if (IsMetadataFamily(command.column_family)) {
    return Fail("column family " + command.column_family + " holds rocksfs metadata, not user data");
  }
  if (command.run_mib == 0) return Fail("--run-size must be at least 1 (MiB)");

  kv::RecordFormat format;
  struct stat st;
  const bool source_is_dir = command.source != "-" && ::stat(command.source.c_str(), &st) == 0 &&
                             S_ISDIR(st.st_mode);
  if (!command.format.empty()) {
    if (!kv::ParseRecordFormat(command.format, &format)) {
      return Fail("unknown --format " + command.format + " (tree, tsv, ndjson or sst)");
    }
  } else if (source_is_dir) {
    format = kv::RecordFormat::kTree;
  } else if (!kv::RecordFormatFromExtension(command.source, &format)) {
    return Fail("cannot tell the format of " + command.source +
                "; give --format tsv, ndjson or sst (a directory loads as a tree)");
  }
  if (command.source == "-" && (format == kv::RecordFormat::kTree || format == kv::RecordFormat::kSst)) {
    return Fail("standard input can only be tsv or ndjson");
  }

  ProgressLine line;
  std::unique_ptr<kv::RecordSource> source;
  Status s;
  switch (format) {
    case kv::RecordFormat::kTree: {
      fs::TreeSourceOptions tree;
      tree.delimiter = delimiter;
      tree.count_total = line.enabled();
      s = fs::OpenTreeRecordSource(command.source, tree, &source);
      break;
    }
    case kv::RecordFormat::kTsv:
    case kv::RecordFormat::kNdjson:
      s = kv::OpenTextRecordSource(command.source, format, &source);
      break;
    case kv::RecordFormat::kSst:
      s = kv::OpenSstRecordSource(command.source, &source);
      break;
  }
  if (!s.ok()) return Fail(Describe(s));

  OpenRequest request;
  request.db = kv::CanonicalPath(command.db);
  request.access = Access::kWrite;
  request.create = command.create;
  request.ttl_seconds = command.ttl_seconds;
  request.mounted_hint = "copy files into the mount instead, or unmount first";
  std::unique_ptr<kv::Store> store;
  if (int rc = OpenDb(request, &store); rc != 0) return rc;
  kv::ColumnFamily* cf = nullptr;
  if (int rc = GetFamily(store.get(), command.column_family, command.create, &cf); rc != 0) return rc;

  kv::BulkLoadOptions options;
  options.jobs = command.jobs;
  options.run_bytes = static_cast<size_t>(command.run_mib) << 20;
  options.compact = command.compact;
  if (line.enabled()) {
    options.progress = [&](const kv::BulkLoadProgress& p) { line.Show(LoadProgressText(p)); };
  }
  kv::BulkLoadStats stats;
  s = kv::BulkLoad(store.get(), cf, source.get(), options, &stats);
  line.Clear();
  if (!s.ok()) return Fail(Describe(s) + " (nothing was loaded)");
  std::fprintf(stderr, "loaded %llu keys (%llu bytes) in %s s (%s keys/s)\n",
               static_cast<unsigned long long>(stats.keys),
               static_cast<unsigned long long>(stats.bytes), Seconds(stats.seconds).c_str(),
               Rate(stats.keys, stats.seconds).c_str());
  if (stats.skipped > 0) {
    std::fprintf(stderr,
                 "rocksfs: warning: skipped %llu entries that are neither regular files nor "
                 "directories (symlinks, devices, sockets, FIFOs)\n",
                 static_cast<unsigned long long>(stats.skipped));
  }
  return 0;
}

// ---- dump -------------------------------------------------------------------

int RunDump(const DumpCommand& command) {
  char delimiter;
  if (!ParseDelimiter(command.delimiter, &delimiter)) {
    return Fail("--delimiter must be one byte other than '%%'");
  }
  kv::RecordFormat format = kv::RecordFormat::kTree;
  if (!command.format.empty()) {
    if (!kv::ParseRecordFormat(command.format, &format)) {
      return Fail("unknown --format " + command.format + " (tree, tsv, ndjson or sst)");
    }
  } else if (command.dest == "-") {
    return Fail("give --format tsv or ndjson to dump to standard output");
  } else if (!kv::RecordFormatFromExtension(command.dest, &format)) {
    format = kv::RecordFormat::kTree;
  }
  if (command.dest == "-" && (format == kv::RecordFormat::kTree || format == kv::RecordFormat::kSst)) {
    return Fail("standard output can only take tsv or ndjson");
  }

  std::unique_ptr<kv::Store> store;
  if (IsCluster(command.db)) {
    if (int rc = OpenCluster(command.db, command.etcd_prefix, &store); rc != 0) return rc;
    if (!command.snapshot.empty()) {
      Status s = kv::ValidateSnapshotName(command.snapshot);
      if (!s.ok()) return Fail(Describe(s));
      std::unique_ptr<kv::Store> at;
      s = store->OpenSavedSnapshot(command.snapshot, &at);
      if (!s.ok()) return Fail(Describe(s));
      store = std::move(at);
    }
  } else {
    if (!command.etcd_prefix.empty()) return Fail("--etcd-prefix is for etcd:// sources only");
    OpenRequest request;
    request.db = kv::CanonicalPath(command.db);
    request.access = Access::kRead;
    request.ttl_seconds = command.ttl_seconds;
    if (!command.snapshot.empty()) {
      Status s = kv::ValidateSnapshotName(command.snapshot);
      if (!s.ok()) return Fail(Describe(s));
      if (!DbExists(request.db)) return Fail("no database at " + request.db);
      request.db = kv::SnapshotPath(request.db, command.snapshot);
      if (!DbExists(request.db)) {
        return Fail("no snapshot named " + command.snapshot + " of " + kv::CanonicalPath(command.db));
      }
    } else if (kv::IsDatabaseLocked(request.db)) {
      std::string mountpoint;
      const std::string who = InUseBy(request.db, &mountpoint);
      std::fprintf(stderr,
                   "rocksfs: note: %s; dumping what it had committed when this dump started "
                   "(read-only open)\n",
                   who.c_str());
    }
    if (int rc = OpenDb(request, &store); rc != 0) return rc;
  }
  kv::ColumnFamily* cf = nullptr;
  if (int rc = GetFamily(store.get(), command.column_family, false, &cf); rc != 0) return rc;

  std::unique_ptr<kv::RecordSink> sink;
  fs::TreeRecordSink* tree = nullptr;
  Status s;
  switch (format) {
    case kv::RecordFormat::kTree: {
      std::unique_ptr<fs::TreeRecordSink> tree_sink;
      s = fs::OpenTreeRecordSink(command.dest, delimiter, &tree_sink);
      tree = tree_sink.get();
      sink = std::move(tree_sink);
      break;
    }
    case kv::RecordFormat::kTsv:
    case kv::RecordFormat::kNdjson:
      s = kv::OpenTextRecordSink(command.dest, format, &sink);
      break;
    case kv::RecordFormat::kSst:
      s = kv::OpenSstRecordSink(command.dest, &sink);
      break;
  }
  if (!s.ok()) return Fail(Describe(s));

  ProgressLine line;
  kv::DumpOptions options;
  options.prefix = command.prefix;
  options.with_children = format == kv::RecordFormat::kTree;
  options.delimiter = delimiter;
  if (line.enabled()) {
    options.progress = [&](const kv::DumpProgress& p) {
      line.Show("dumping: " + FormatCount(p.keys) + " keys, " + FormatBytes(p.bytes) + ", " +
                FormatCount(p.seconds > 0 ? static_cast<uint64_t>(p.keys / p.seconds) : 0) +
                " keys/s");
    };
  }
  kv::DumpStats stats;
  s = kv::Dump(store.get(), cf, options, sink.get(), &stats);
  line.Clear();
  if (!s.ok()) return Fail(Describe(s));
  std::fprintf(stderr, "dumped %llu keys (%llu bytes) in %s s (%s keys/s)\n",
               static_cast<unsigned long long>(stats.keys),
               static_cast<unsigned long long>(stats.bytes), Seconds(stats.seconds).c_str(),
               Rate(stats.keys, stats.seconds).c_str());
  if (tree != nullptr && tree->hashed_names() > 0) {
    std::fprintf(stderr,
                 "rocksfs: warning: %llu names were shortened (key components longer than 255 "
                 "bytes); such files do not load back: dump as tsv, ndjson or sst to keep them\n",
                 static_cast<unsigned long long>(tree->hashed_names()));
  }
  return 0;
}

// ---- snapshot ---------------------------------------------------------------

int RunSnapshotCreate(const SnapshotCommand& command) {
  Status s = kv::ValidateSnapshotName(command.name);
  if (!s.ok()) return Fail(Describe(s));
  OpenRequest request;
  request.db = kv::CanonicalPath(command.db);
  request.access = Access::kWrite;
  std::string mountpoint = kv::FindRocksfsMount(request.db);
  request.mounted_hint = "take the snapshot there with: mkdir " +
                         (mountpoint.empty() ? std::string("MOUNTPOINT") : mountpoint) +
                         "/.rocksfs/snapshots/" + command.name;
  std::unique_ptr<kv::Store> store;
  if (int rc = OpenDb(request, &store); rc != 0) return rc;
  s = kv::CreateSnapshot(store.get(), command.name);
  if (!s.ok()) return Fail(Describe(s));
  std::printf("created snapshot %s at %s\n", command.name.c_str(),
              kv::SnapshotPath(request.db, command.name).c_str());
  return 0;
}

int RunSnapshotList(const SnapshotCommand& command) {
  const std::string db = kv::CanonicalPath(command.db);
  if (!DbExists(db)) return Fail("no database at " + db);
  std::vector<kv::SnapshotInfo> snapshots;
  Status s = kv::ListSnapshots(db, &snapshots);
  if (!s.ok()) return Fail(Describe(s));
  if (command.json) {
    std::string out = "[";
    for (size_t i = 0; i < snapshots.size(); ++i) {
      out += i == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ";
      kv::AppendJsonString(snapshots[i].name, &out);
      out += ", \"created\": " + std::to_string(snapshots[i].created_ns / 1000000000) + "}";
    }
    out += snapshots.empty() ? "]\n" : "\n]\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  for (const kv::SnapshotInfo& snapshot : snapshots) {
    std::printf("%s\t%s\n", snapshot.name.c_str(),
                FormatTime(snapshot.created_ns / 1000000000).c_str());
  }
  return 0;
}

int RunSnapshotDelete(const SnapshotCommand& command) {
  Status s = kv::ValidateSnapshotName(command.name);
  if (!s.ok()) return Fail(Describe(s));
  const std::string db = kv::CanonicalPath(command.db);
  if (!DbExists(db)) return Fail("no database at " + db);
  // A mount may be serving this snapshot from an open instance: let it do
  // the removal, so that it can close what it has open first.
  const std::string mountpoint = kv::FindRocksfsMount(db);
  if (!mountpoint.empty() && kv::IsDatabaseLocked(db)) {
    return Fail(db + " is mounted at " + mountpoint + "; delete the snapshot there with: rmdir " +
                mountpoint + "/.rocksfs/snapshots/" + command.name);
  }
  s = kv::DeleteSnapshot(db, command.name);
  if (!s.ok()) return Fail(Describe(s));
  std::printf("deleted snapshot %s\n", command.name.c_str());
  return 0;
}

// ---- backup -----------------------------------------------------------------

int RunBackupCreate(const BackupCommand& command) {
  OpenRequest request;
  request.db = kv::CanonicalPath(command.db);
  request.access = Access::kWritePreferred;
  std::unique_ptr<kv::Store> store;
  if (int rc = OpenDb(request, &store); rc != 0) return rc;
  kv::BackupInfo info;
  Status s = kv::CreateBackup(store.get(), command.backup_dir, &info);
  if (!s.ok()) return Fail("backup failed: " + Describe(s));
  std::printf("created backup %u in %s (%u files, %s)\n", info.id, command.backup_dir.c_str(),
              info.files, FormatBytes(info.size_bytes).c_str());
  return 0;
}

int RunBackupList(const BackupCommand& command) {
  std::vector<kv::BackupInfo> backups;
  std::vector<uint32_t> corrupt;
  Status s = kv::ListBackups(command.backup_dir, &backups, &corrupt);
  if (!s.ok()) return Fail(Describe(s));
  std::printf("%-6s %-19s %12s %6s\n", "ID", "CREATED", "SIZE", "FILES");
  for (const kv::BackupInfo& backup : backups) {
    std::printf("%-6u %-19s %12s %6u\n", backup.id, FormatTime(backup.timestamp).c_str(),
                FormatBytes(backup.size_bytes).c_str(), backup.files);
  }
  for (uint32_t id : corrupt) std::printf("%-6u (corrupt)\n", id);
  return 0;
}

int RunBackupRestore(const BackupCommand& command) {
  const std::string target = kv::CanonicalPath(command.target);
  const std::string mountpoint = kv::FindRocksfsMount(target);
  if (!mountpoint.empty()) {
    return Fail(target + " is mounted at " + mountpoint + "; unmount it before restoring into it");
  }
  kv::RestoreBackupOptions options;
  options.id = command.id;
  options.force = command.force;
  Status s = kv::RestoreBackup(command.backup_dir, target, options);
  if (!s.ok()) return Fail(Describe(s));
  if (command.id != 0) {
    std::printf("restored backup %u into %s\n", command.id, target.c_str());
  } else {
    std::printf("restored the latest backup into %s\n", target.c_str());
  }
  return 0;
}

int RunBackupPurge(const BackupCommand& command) {
  uint32_t removed = 0;
  Status s = kv::PurgeBackups(command.backup_dir, command.keep, &removed);
  if (!s.ok()) return Fail(Describe(s));
  std::printf("removed %u backups, kept the newest %u\n", removed, command.keep);
  return 0;
}

// ---- stat -------------------------------------------------------------------

int RunStat(const StatCommand& command) {
  const bool cluster = IsCluster(command.db);
  OpenRequest request;
  std::unique_ptr<kv::Store> store;
  if (cluster) {
    request.db = command.db;
    if (int rc = OpenCluster(command.db, command.etcd_prefix, &store); rc != 0) return rc;
  } else {
    if (!command.etcd_prefix.empty()) return Fail("--etcd-prefix is for etcd:// sources only");
    request.db = kv::CanonicalPath(command.db);
    request.access = Access::kRead;
    if (int rc = OpenDb(request, &store); rc != 0) return rc;
  }

  struct Family {
    std::string name;
    bool metadata;
    kv::Usage usage;
  };
  std::vector<Family> families;
  for (const std::string& name : store->ListColumnFamilies()) {
    kv::ColumnFamily* cf = nullptr;
    Family family{name, IsMetadataFamily(name), {}};
    if (store->GetColumnFamily(name, false, &cf).ok()) {
      (void)store->GetUsage(cf, &family.usage);
    }
    families.push_back(family);
  }
  std::vector<kv::SnapshotInfo> snapshots;
  std::string mountpoint;
  if (cluster) {
    std::vector<kv::Store::SavedSnapshot> saved;
    (void)store->ListSavedSnapshots(&saved);
    for (const auto& snapshot : saved) snapshots.push_back({snapshot.name, snapshot.created_ns});
  } else {
    (void)kv::ListSnapshots(request.db, &snapshots);
    mountpoint = kv::FindRocksfsMount(request.db);
  }

  if (command.json) {
    std::string out = "{\n  \"path\": ";
    kv::AppendJsonString(request.db, &out);
    out += ",\n  \"mounted_at\": ";
    if (mountpoint.empty()) {
      out += "null";
    } else {
      kv::AppendJsonString(mountpoint, &out);
    }
    out += ",\n  \"column_families\": [";
    for (size_t i = 0; i < families.size(); ++i) {
      const Family& f = families[i];
      out += i == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ";
      kv::AppendJsonString(f.name, &out);
      out += std::string(", \"role\": \"") + (f.metadata ? "rocksfs metadata" : "data") + "\"";
      out += ", \"estimated_keys\": " + std::to_string(f.usage.estimated_keys);
      out += ", \"live_data_bytes\": " + std::to_string(f.usage.live_data_bytes);
      out += ", \"total_sst_bytes\": " + std::to_string(f.usage.total_sst_bytes) + "}";
    }
    out += "\n  ],\n  \"snapshots\": [";
    for (size_t i = 0; i < snapshots.size(); ++i) {
      out += i == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ";
      kv::AppendJsonString(snapshots[i].name, &out);
      out += ", \"created\": " + std::to_string(snapshots[i].created_ns / 1000000000) + "}";
    }
    out += snapshots.empty() ? "]\n}\n" : "\n  ]\n}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }

  std::printf("database: %s%s\n", request.db.c_str(),
              mountpoint.empty() ? "" : (" (mounted at " + mountpoint + ")").c_str());
  std::printf("\n%-24s %-17s %14s %12s %12s\n", "COLUMN FAMILY", "ROLE", "KEYS (EST.)", "LIVE DATA",
              "SST FILES");
  for (const Family& f : families) {
    std::printf("%-24s %-17s %14s %12s %12s\n", f.name.c_str(),
                f.metadata ? "rocksfs metadata" : "data", FormatCount(f.usage.estimated_keys).c_str(),
                FormatBytes(f.usage.live_data_bytes).c_str(),
                FormatBytes(f.usage.total_sst_bytes).c_str());
  }
  std::printf("\nsnapshots: %zu\n", snapshots.size());
  for (const kv::SnapshotInfo& snapshot : snapshots) {
    std::printf("  %-22s %s\n", snapshot.name.c_str(),
                FormatTime(snapshot.created_ns / 1000000000).c_str());
  }
  std::printf("\n%s:\n%s", cluster ? "etcd" : "rocksdb.stats", store->StatisticsText().c_str());
  return 0;
}

}  // namespace rocksfs::tools
