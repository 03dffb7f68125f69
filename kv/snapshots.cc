#include "kv/snapshots.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

namespace rocksfs::kv {

namespace {
namespace stdfs = std::filesystem;
constexpr size_t kMaxNameBytes = 255;
}  // namespace

Status ValidateSnapshotName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty snapshot name");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("snapshot name longer than 255 bytes");
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument("snapshot name cannot be '" + std::string(name) + "'");
  }
  if (name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("snapshot name cannot contain '/'");
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("snapshot name cannot contain NUL");
  }
  if (name.ends_with(".tmp")) {
    return Status::InvalidArgument("snapshot name cannot end in .tmp (RocksDB's staging suffix)");
  }
  return Status::Ok();
}

std::string SnapshotsDir(const std::string& db_path) { return db_path + "/.rocksfs/snapshots"; }

std::string SnapshotPath(const std::string& db_path, std::string_view name) {
  return SnapshotsDir(db_path) + "/" + std::string(name);
}

Status CreateSnapshot(Store* store, std::string_view name) {
  Status s = ValidateSnapshotName(name);
  if (!s.ok()) return s;
  const std::string dir = SnapshotPath(store->path(), name);
  std::error_code ec;
  if (stdfs::exists(dir, ec)) {
    return Status::InvalidArgument("snapshot " + std::string(name) + " already exists");
  }
  stdfs::create_directories(SnapshotsDir(store->path()), ec);
  if (ec) {
    return Status::IOError("cannot create " + SnapshotsDir(store->path()) + ": " + ec.message());
  }
  return store->CreateCheckpoint(dir);
}

Status ListSnapshots(const std::string& db_path, std::vector<SnapshotInfo>* snapshots) {
  snapshots->clear();
  const std::string dir = SnapshotsDir(db_path);
  std::error_code ec;
  stdfs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return Status::Ok();
    return Status::IOError("cannot list " + dir + ": " + ec.message());
  }
  for (const stdfs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!ValidateSnapshotName(name).ok()) continue;  // e.g. NAME.tmp being built
    struct stat st;
    if (::stat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    // The checkpoint writes CURRENT once, at creation. The directory's own
    // mtime moves whenever a read-only open of the snapshot rotates its LOG.
    if (::stat((entry.path() / "CURRENT").c_str(), &st) != 0) continue;
    SnapshotInfo info;
    info.name = name;
    info.created_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    snapshots->push_back(std::move(info));
  }
  std::sort(snapshots->begin(), snapshots->end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.name < b.name; });
  return Status::Ok();
}

Status DeleteSnapshot(const std::string& db_path, std::string_view name) {
  Status s = ValidateSnapshotName(name);
  if (!s.ok()) return s;
  const std::string dir = SnapshotPath(db_path, name);
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) {
    return Status::NotFound("no snapshot named " + std::string(name));
  }
  stdfs::remove_all(dir, ec);
  if (ec) return Status::IOError("cannot remove " + dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace rocksfs::kv
