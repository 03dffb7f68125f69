// Filesystem: the control directory /.rocksfs (SPEC section 5).
//
//   /.rocksfs/snapshots/NAME/  stored snapshots, read-only trees; mkdir takes
//                              one, rmdir deletes it
//   /.rocksfs/cf/NAME/         the other column families; mkdir creates one,
//                              rmdir drops an empty one
//   /.rocksfs/stats            rocksfs counters and RocksDB statistics
//
// /.rocksfs is found by Lookup but never listed, so find, du, cp -r and
// rsync of the mount do not walk into it.
#include <spdlog/spdlog.h>

#include <cerrno>

#include "fs/errno_map.h"
#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {
namespace {

constexpr std::string_view kSnapshotsName = "snapshots";
constexpr std::string_view kColumnFamiliesName = "cf";
constexpr std::string_view kStatsName = "stats";

bool IsMetaColumnFamily(std::string_view name) { return name.rfind("rocksfs.meta", 0) == 0; }

}  // namespace

double Filesystem::CacheTimeout(NodeId node) const {
  NodeInfo info;
  if (inodes_.Get(node, &info) && info.control == Control::kStats) return 0;
  return -1;
}

std::string Filesystem::StatsText() {
  std::string text = "# rocksfs counters since mount\n";
  text += counters_.ToText();
  text += "\n# RocksDB\n";
  text += store_->StatisticsText();
  return text;
}

int Filesystem::OpenColumnFamilyView(const std::string& name, std::shared_ptr<View>* out) {
  if (IsMetaColumnFamily(name) || name == options_.column_family) return ENOENT;
  std::lock_guard lock(views_mutex_);
  std::string key = "cf/" + name;
  if (auto it = view_ids_.find(key); it != view_ids_.end()) {
    *out = views_.at(it->second);
    return 0;
  }
  kv::ColumnFamily* cf = nullptr;
  kv::Status s = store_->GetColumnFamily(name, false, &cf);
  if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "open column family", name);
  auto view = NewView(store_, cf, name, read_only_);
  view->id = next_view_++;
  view->name = key;
  views_[view->id] = view;
  view_ids_[key] = view->id;
  *out = std::move(view);
  return 0;
}

int Filesystem::OpenSnapshotView(const std::string& name, std::shared_ptr<View>* out) {
  if (!options_.snapshots) return ENOENT;
  std::lock_guard lock(views_mutex_);
  std::string key = "snapshots/" + name;
  if (auto it = view_ids_.find(key); it != view_ids_.end()) {
    *out = views_.at(it->second);
    return 0;
  }
  std::unique_ptr<kv::Store> store;
  kv::Status s = options_.snapshots->Open(name, &store);
  if (!s.ok()) {
    if (s.IsNotFound() || s.code() == kv::Code::kInvalidArgument) return ENOENT;
    return Fail(s, "open snapshot", name);
  }
  kv::ColumnFamily* cf = nullptr;
  s = store->GetColumnFamily(options_.column_family, false, &cf);
  if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "open snapshot column family", name);
  auto view = NewView(store.get(), cf, options_.column_family, true);
  view->owned_store = std::move(store);
  view->id = next_view_++;
  view->name = key;
  views_[view->id] = view;
  view_ids_[key] = view->id;
  *out = std::move(view);
  return 0;
}

void Filesystem::ControlAttr(const NodeInfo& node, struct stat* st) {
  *st = {};
  st->st_ino = StableIno(node.kind, std::string("\0control/", 9) + node.component);
  st->st_nlink = 1;
  st->st_uid = options_.defaults.uid;
  st->st_gid = options_.defaults.gid;
  st->st_blksize = 4096;
  TimeNs time = options_.defaults.time;
  if (node.control == Control::kStats) {
    st->st_mode = S_IFREG | 0444;
    st->st_size = static_cast<off_t>(StatsText().size());
    time = NowNs();  // a new mtime drops stale pages on zero-message opens
  } else {
    st->st_mode = S_IFDIR | (read_only_ || node.control == Control::kRoot ? 0555 : 0755);
    st->st_size = 4096;
  }
  st->st_mtim.tv_sec = time / 1000000000;
  st->st_mtim.tv_nsec = time % 1000000000;
  st->st_ctim = st->st_atim = st->st_mtim;
}

int Filesystem::ControlLookup(const NodeInfo& parent, std::string_view name, Entry* out) {
  *out = {};
  auto control_node = [&](NodeId in, NodeKind kind, std::string_view component, Control c) {
    out->node = inodes_.AcquireSpecial(in, kind, component, 1, kMainView, false, c);
    NodeInfo info;
    (void)inodes_.Get(out->node, &info);
    ControlAttr(info, &out->attr);
    return 0;
  };
  if (parent.control == Control::kNone) {  // the mount's root
    return control_node(kRootNode, NodeKind::kDirectory, kControlDirName, Control::kRoot);
  }
  std::shared_ptr<View> view;
  switch (parent.control) {
    case Control::kRoot:
      if (name == kSnapshotsName) {
        return control_node(parent.id, NodeKind::kDirectory, name, Control::kSnapshots);
      }
      if (name == kColumnFamiliesName) {
        return control_node(parent.id, NodeKind::kDirectory, name, Control::kColumnFamilies);
      }
      if (name == kStatsName) return control_node(parent.id, NodeKind::kFile, name, Control::kStats);
      return 0;  // negative entry
    case Control::kSnapshots:
      if (int err = OpenSnapshotView(std::string(name), &view)) return err == ENOENT ? 0 : err;
      break;
    case Control::kColumnFamilies:
      if (int err = OpenColumnFamilyView(std::string(name), &view)) return err == ENOENT ? 0 : err;
      break;
    default:
      return ENOTDIR;
  }
  out->node = inodes_.AcquireSpecial(parent.id, NodeKind::kDirectory, name, 1, view->id, true,
                                     Control::kNone);
  if (int err = StatKey(*view, NodeKind::kDirectory, "", nullptr, &out->attr)) return err;
  if (parent.control == Control::kSnapshots) {
    // A snapshot's directory shows when it was taken.
    std::vector<SnapshotCatalog::Info> snapshots;
    if (options_.snapshots->List(&snapshots).ok()) {
      for (const auto& info : snapshots) {
        if (info.name != name) continue;
        out->attr.st_mtim.tv_sec = info.created / 1000000000;
        out->attr.st_mtim.tv_nsec = info.created % 1000000000;
        out->attr.st_ctim = out->attr.st_mtim;
      }
    }
  }
  return 0;
}

int Filesystem::ControlReadDir(const NodeInfo& dir, DirHandle* handle, off_t offset, bool plus,
                               const DirFiller& fill) {
  // Control directories are small: list them whole each time.
  std::vector<std::pair<std::string, mode_t>> names = {{".", S_IFDIR}, {"..", S_IFDIR}};
  if (dir.control == Control::kRoot) {
    names.emplace_back(kSnapshotsName, S_IFDIR);
    names.emplace_back(kColumnFamiliesName, S_IFDIR);
    names.emplace_back(kStatsName, S_IFREG);
  } else if (dir.control == Control::kSnapshots) {
    if (options_.snapshots) {
      std::vector<SnapshotCatalog::Info> snapshots;
      kv::Status s = options_.snapshots->List(&snapshots);
      if (!s.ok()) return Fail(s, "list snapshots", "");
      for (auto& info : snapshots) names.emplace_back(std::move(info.name), S_IFDIR);
    }
  } else if (dir.control == Control::kColumnFamilies) {
    for (std::string& name : store_->ListColumnFamilies()) {
      if (!IsMetaColumnFamily(name) && name != options_.column_family) {
        names.emplace_back(std::move(name), S_IFDIR);
      }
    }
  }
  for (off_t i = offset; i < static_cast<off_t>(names.size()); ++i) {
    DirEntry entry;
    entry.name = names[i].first;
    entry.attr.st_mode = names[i].second;
    entry.attr.st_ino = StableIno(NodeKind::kDirectory, "\0control/" + entry.name);
    // With plus, node 0 gives attributes without a lookup; the kernel looks
    // the entry up when it needs it (opening a snapshot costs a DB open).
    if (plus) entry.attr.st_mode |= 0555;
    if (!fill(entry, i + 1)) break;
  }
  return 0;
}

int Filesystem::ControlMkdir(const NodeInfo& parent, std::string_view name, Entry* out) {
  if (read_only_) return EROFS;
  std::string n(name);
  if (name.size() > kNameMax) return ENAMETOOLONG;
  if (parent.control == Control::kSnapshots) {
    if (!options_.snapshots) return ENOTSUP;
    kv::Status s = options_.snapshots->Create(n);
    if (s.IsConditionFailed()) return EEXIST;
    if (s.code() == kv::Code::kInvalidArgument) return EINVAL;
    if (!s.ok()) return Fail(s, "create snapshot", n);
    spdlog::info("created snapshot '{}'", n);
  } else if (parent.control == Control::kColumnFamilies) {
    if (IsMetaColumnFamily(name) || name == options_.column_family) return EEXIST;
    kv::ColumnFamily* cf = nullptr;
    if (store_->GetColumnFamily(n, false, &cf).ok()) return EEXIST;
    kv::Status s = store_->GetColumnFamily(n, true, &cf);
    if (s.code() == kv::Code::kInvalidArgument) return EINVAL;
    if (!s.ok()) return Fail(s, "create column family", n);
    spdlog::info("created column family '{}'", n);
  } else {
    return EACCES;
  }
  if (int err = ControlLookup(parent, name, out)) return err;
  return out->node ? 0 : EIO;
}

int Filesystem::ControlRmdir(const NodeInfo& parent, std::string_view name) {
  if (read_only_) return EROFS;
  std::string n(name);
  std::string key;
  if (parent.control == Control::kSnapshots) {
    if (!options_.snapshots) return ENOENT;
    key = "snapshots/" + n;
    kv::Status s = options_.snapshots->Delete(n);
    if (s.IsNotFound() || s.code() == kv::Code::kInvalidArgument) return ENOENT;
    if (!s.ok()) return Fail(s, "delete snapshot", n);
    spdlog::info("deleted snapshot '{}'", n);
  } else if (parent.control == Control::kColumnFamilies) {
    std::shared_ptr<View> view;
    if (int err = OpenColumnFamilyView(n, &view)) return err;
    kv::ScanOptions scan;
    auto it = store_->NewIterator(view->data, scan);
    it->Seek("");
    if (it->Valid()) return ENOTEMPTY;
    if (kv::ColumnFamily* meta = view->meta.load()) {
      // Any directory marker but the root's own ("d"): an empty directory.
      auto mit = store_->NewIterator(meta, scan);
      mit->Seek(std::string("d\0", 2));
      if (mit->Valid() && mit->key()[0] == 'd') return ENOTEMPTY;
    }
    key = "cf/" + n;
    {
      std::lock_guard lock(views_mutex_);
      views_.erase(view->id);
      view_ids_.erase(key);
    }
    view.reset();
    kv::Status s = store_->DropColumnFamily(n);
    if (!s.ok()) return Fail(s, "drop column family", n);
    s = store_->DropColumnFamily(MetaColumnFamilyName(n));  // if it was ever created
    if (!s.ok() && !s.IsNotFound()) (void)Fail(s, "drop column family", MetaColumnFamilyName(n));
    spdlog::info("dropped column family '{}'", n);
  } else {
    return EACCES;
  }
  {
    std::lock_guard lock(views_mutex_);
    if (auto it = view_ids_.find(key); it != view_ids_.end()) {
      views_.erase(it->second);
      view_ids_.erase(it);
    }
  }
  inodes_.Detach(parent.id, NodeKind::kDirectory, name);
  return 0;
}

}  // namespace rocksfs::fs
