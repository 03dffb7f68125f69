// Filesystem: construction, name resolution, attributes, xattrs, statfs.
// File I/O is in file_ops.cc, namespace changes in namespace_ops.cc and
// listing in readdir.cc.
#include "fs/filesystem.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "fs/errno_map.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {
namespace {

constexpr size_t kXattrNameMax = 255;
constexpr size_t kXattrValueMax = 64 * 1024;  // XATTR_SIZE_MAX
// All names and values of one key together: the record is read by every
// lookup and stat, so it stays small.
constexpr size_t kXattrTotalMax = 256 * 1024;
constexpr std::string_view kUserXattrPrefix = "user.";


// Times shown for keys without metadata: the DB's creation time, so they are
// the same at every mount (make and rsync compare them).
TimeNs StoreCreationTime(const std::string& path) {
  struct stat st;
  for (const char* name : {"/IDENTITY", "/CURRENT"}) {
    if (::stat((path + name).c_str(), &st) == 0) {
      return static_cast<TimeNs>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
  }
  return 0;
}

}  // namespace

void SetTime(struct timespec* ts, TimeNs t) {
  ts->tv_sec = t / 1000000000;
  ts->tv_nsec = t % 1000000000;
  if (ts->tv_nsec < 0) {
    ts->tv_nsec += 1000000000;
    ts->tv_sec -= 1;
  }
}

ino_t StableIno(NodeKind kind, std::string_view key) {
  if (kind == NodeKind::kDirectory && key.empty()) return kRootNode;
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  mix(kind == NodeKind::kDirectory ? 'd' : 'f');
  for (char c : key) mix(static_cast<unsigned char>(c));
  h &= ~kAllocatedInoBit;
  if (h <= kRootNode) h += 2;
  return static_cast<ino_t>(h);
}

std::string MetaColumnFamilyName(std::string_view cf) {
  if (cf == "default") return "rocksfs.meta";
  return "rocksfs.meta." + std::string(cf);
}

Filesystem::Filesystem(kv::Store* store, FilesystemOptions options)
    : store_(store),
      options_(std::move(options)),
      codec_(options_.delimiter),
      inodes_(options_.delimiter),
      read_only_(store->read_only()) {}

Filesystem::~Filesystem() {
  StopFollowingChanges();
  {
    std::lock_guard lock(follower_mutex_);
    follower_stop_ = true;
  }
  follower_cv_.notify_all();
  if (follower_.joinable()) follower_.join();
  {
    std::lock_guard lock(committer_mutex_);
    committer_stop_ = true;
  }
  committer_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  // Files still open (the kernel went away without releasing them): what
  // they hold is committed, as a release would.
  std::vector<std::shared_ptr<OpenFile>> files;
  {
    std::lock_guard lock(open_files_mutex_);
    for (const auto& [node, file] : open_files_) files.push_back(file);
  }
  for (const auto& file : files) {
    LinkedCommit linked;
    std::unique_lock lock(file->mutex);
    if (int err = CommitLocked(*file, false, &linked)) {
      spdlog::error("writes to node {} were lost at unmount: errno {}", file->node, err);
    }
  }
}

void Filesystem::FollowPrimary(uint32_t period_ms) {
  follower_ = std::thread([this, period_ms] {
    std::unique_lock lock(follower_mutex_);
    while (!follower_cv_.wait_for(lock, std::chrono::milliseconds(period_ms),
                                  [this] { return follower_stop_; })) {
      kv::Status s = store_->TryCatchUpWithPrimary();
      if (!s.ok()) spdlog::warn("catching up with the primary failed: {}", s.ToString());
    }
  });
}

std::shared_ptr<Filesystem::View> Filesystem::NewView(kv::Store* store, kv::ColumnFamily* data,
                                                      const std::string& data_name,
                                                      bool read_only) {
  auto view = std::make_shared<View>();
  view->store = store;
  view->data = data;
  view->read_only = read_only || store->read_only();
  view->meta_cf_name = MetaColumnFamilyName(data_name);
  if (!options_.nometa) {
    kv::ColumnFamily* meta = nullptr;
    if (store->GetColumnFamily(view->meta_cf_name, false, &meta).ok()) view->meta = meta;
  }
  view->default_time = StoreCreationTime(store->path());
  return view;
}

std::shared_ptr<Filesystem::View> Filesystem::ViewOf(ViewId id) const {
  std::lock_guard lock(views_mutex_);
  auto it = views_.find(id);
  return it == views_.end() ? nullptr : it->second;
}

int Filesystem::Create(kv::Store* store, FilesystemOptions options,
                       std::unique_ptr<Filesystem>* out, std::string* error) {
  if (!PathCodec::IsValidDelimiter(options.delimiter)) {
    *error = "delimiter '%' is the escape character and cannot split keys";
    return EINVAL;
  }
  if (options.column_family.rfind("rocksfs.meta", 0) == 0) {
    *error = "column family '" + options.column_family + "' holds rocksfs metadata, not user data";
    return EINVAL;
  }
  std::unique_ptr<Filesystem> fs(new Filesystem(store, std::move(options)));
  kv::ColumnFamily* data = nullptr;
  kv::Status s = store->GetColumnFamily(fs->options_.column_family, false, &data);
  if (!s.ok()) {
    *error = s.IsNotFound() ? "column family '" + fs->options_.column_family + "' does not exist"
                            : "cannot open column family: " + s.ToString();
    return s.IsNotFound() ? ENOENT : ErrnoFromStatus(s);
  }
  auto view = fs->NewView(store, data, fs->options_.column_family, false);
  fs->options_.defaults.time = view->default_time;
  fs->views_[kMainView] = std::move(view);
  if (!fs->read_only_ && fs->options_.commit_interval_ns > 0) {
    fs->committer_ = std::thread([raw = fs.get()] { raw->RunCommitter(); });
  }
  *out = std::move(fs);
  return 0;
}

int Filesystem::Fail(const kv::Status& status, std::string_view op, std::string_view key) const {
  int err = ErrnoFromStatus(status);
  const_cast<Counters&>(counters_).errors.fetch_add(1, std::memory_order_relaxed);
  auto level = err == ENOSPC || err == EROFS ? spdlog::level::warn : spdlog::level::err;
  spdlog::log(level, "{} of key '{}' failed: {} (errno {})", op, key, status.ToString(), err);
  return err;
}

int Filesystem::CheckWritable(const View& view) const { return view.read_only ? EROFS : 0; }

int Filesystem::EnsureMeta(View& view) {
  if (view.meta.load()) return 0;
  if (options_.nometa) return ENOTSUP;
  if (view.read_only) return EROFS;
  std::lock_guard lock(view.meta_create_mutex);
  if (view.meta.load()) return 0;
  kv::ColumnFamily* meta = nullptr;
  kv::Status s = view.store->GetColumnFamily(view.meta_cf_name, true, &meta);
  if (!s.ok()) return Fail(s, "create metadata column family", view.meta_cf_name);
  spdlog::info("created metadata column family '{}'", view.meta_cf_name);
  view.meta = meta;
  return 0;
}

bool Filesystem::LoadMeta(View& view, std::string_view meta_key, Metadata* meta) {
  kv::ColumnFamily* cf = view.meta.load();
  if (!cf) return false;
  kv::Value value;
  kv::Status s = view.store->Get({}, cf, meta_key, &value);
  if (!s.ok()) {
    if (!s.IsNotFound()) (void)Fail(s, "read metadata", meta_key);
    return false;
  }
  if (!DecodeMetadata(value.view(), meta)) {
    spdlog::warn("malformed metadata record for key '{}'; using defaults", meta_key);
    return false;
  }
  return true;
}

bool Filesystem::LoadNodeMeta(View& view, const NodeInfo& info, Metadata* meta) {
  if (info.detached) return info.kind == NodeKind::kFile && DetachedMeta(info.id, meta);
  return LoadMeta(view, info.kind == NodeKind::kDirectory ? DirMetaKey(info.key)
                                                          : FileMetaKey(info.key),
                  meta);
}

bool Filesystem::DirHasMarkerBelow(View& view, std::string_view prefix) {
  // Its own marker, or the marker of any directory below it: a marker keeps
  // every ancestor directory alive too.
  kv::ColumnFamily* cf = view.meta.load();
  if (!cf) return false;
  std::string marker = DirMetaKey(prefix);
  kv::ScanOptions scan;
  scan.lower_bound = marker;
  scan.upper_bound = kv::PrefixSuccessor(marker);
  auto it = view.store->NewIterator(cf, scan);
  it->Seek(marker);
  return it->Valid();
}

bool Filesystem::DirExists(View& view, std::string_view prefix, kv::Status* status) {
  if (prefix.empty()) return true;  // the root
  kv::ScanOptions scan;
  scan.lower_bound = std::string(prefix);
  scan.upper_bound = kv::PrefixSuccessor(prefix);
  auto it = view.store->NewIterator(view.data, scan);
  it->Seek(prefix);
  if (it->Valid()) return true;
  *status = it->status();
  if (!status->ok()) return false;
  return DirHasMarkerBelow(view, prefix);
}

bool Filesystem::DirIsEmpty(View& view, std::string_view prefix, std::string_view ignoring_key,
                            kv::Status* status) {
  // `ignoring_key` is a key or a directory prefix about to be removed.
  bool ignoring_dir = !ignoring_key.empty() && ignoring_key.back() == options_.delimiter;
  std::string ignore_end = ignoring_dir ? kv::PrefixSuccessor(ignoring_key)
                                        : std::string(ignoring_key) + '\0';
  auto outside_ignored = [&](std::string_view key) {
    return ignoring_key.empty() || key < ignoring_key || key >= ignore_end;
  };
  kv::ScanOptions scan;
  scan.lower_bound = std::string(prefix);
  scan.upper_bound = kv::PrefixSuccessor(prefix);
  auto it = view.store->NewIterator(view.data, scan);
  if (!ignoring_key.empty()) {
    // Look past the removed key first. Files are mostly removed in key
    // order (rm -r, find -delete, a listing's order), so a later sibling is
    // usually there, and a scan from the prefix would step over the
    // tombstones of every sibling removed before: O(n^2) for a directory.
    it->Seek(ignore_end);
    if (it->Valid()) return false;
    *status = it->status();
    if (!status->ok()) return false;
  }
  // Nothing is left past the removed key: any key before it is a sibling.
  it->Seek(prefix);
  if (it->Valid() && outside_ignored(it->key())) return false;
  *status = it->status();
  if (!status->ok()) return false;
  if (kv::ColumnFamily* cf = view.meta.load()) {
    std::string begin = DirMetaKey(prefix) + '\0';
    kv::ScanOptions meta_scan;
    meta_scan.lower_bound = begin;
    meta_scan.upper_bound = kv::PrefixSuccessor(DirMetaKey(prefix));
    auto mit = view.store->NewIterator(cf, meta_scan);
    for (mit->Seek(begin); mit->Valid(); mit->Seek(DirMetaKey(ignore_end))) {
      std::string_view data_key = mit->key().substr(1);
      if (outside_ignored(data_key)) return false;
      if (ignore_end <= data_key) break;
    }
    *status = mit->status();
  }
  return status->ok();
}

Metadata Filesystem::DirMetaOrDefaults(View& view, std::string_view prefix) {
  Metadata meta;
  if (LoadMeta(view, DirMetaKey(prefix), &meta)) return meta;
  meta.mode = S_IFDIR | options_.defaults.dir_mode;
  meta.uid = options_.defaults.uid;
  meta.gid = options_.defaults.gid;
  meta.mtime = meta.ctime = meta.atime = view.default_time;
  return meta;
}

void Filesystem::TouchDirectory(View& view, std::string_view prefix, Metadata meta, TimeNs now,
                                kv::Batch* batch) {
  if (options_.nometa || EnsureMeta(view) != 0) return;
  meta.mtime = meta.ctime = now;
  batch->Put(view.meta.load(), DirMetaKey(prefix), EncodeMetadata(meta));
}

void Filesystem::TouchDirectory(View& view, std::string_view prefix, TimeNs now,
                                kv::Batch* batch) {
  if (options_.nometa) return;
  TouchDirectory(view, prefix, DirMetaOrDefaults(view, prefix), now, batch);
}

int Filesystem::ResolveChild(View& view, const NodeInfo& parent, std::string_view name,
                             Child* child) {
  if (parent.kind != NodeKind::kDirectory) return ENOTDIR;
  if (name.size() > kNameMax) return ENAMETOOLONG;
  bool at_root = parent.key.empty();
  DecodedName decoded;
  if (int err = codec_.Decode(name, at_root, &decoded)) return err;
  if (decoded.hashed) return ResolveHashed(view, parent, name, child);
  child->component = std::move(decoded.component);
  child->role = decoded.role;
  child->key = parent.key + child->component;
  child->prefix = child->key + options_.delimiter;
  kv::Status s;
  child->dir_exists = DirExists(view, child->prefix, &s);
  if (!s.ok()) return Fail(s, "scan", child->prefix);
  child->generation = commit_generation();
  s = view.store->Get({}, view.data, child->key, &child->value);
  if (s.ok()) {
    child->file_exists = true;
  } else if (!s.IsNotFound()) {
    return Fail(s, "read", child->key);
  }
  return 0;
}

int Filesystem::ResolveHashed(View& view, const NodeInfo& parent, std::string_view name,
                              Child* child) {
  // "%{#H}" names stand for components too long for NAME_MAX. Walk the
  // distinct components that start with the name's prefix, among the keys
  // and the directory markers, and pick the one that encodes to this name.
  bool at_root = parent.key.empty();
  DecodedName decoded;
  if (int err = codec_.Decode(name, at_root, &decoded)) return err;
  std::string start = parent.key + decoded.component;
  auto search = [&](kv::ColumnFamily* cf, std::string_view tag, std::string* found) {
    std::string from = std::string(tag) + start;
    kv::ScanOptions scan;
    scan.lower_bound = from;
    scan.upper_bound = kv::PrefixSuccessor(from);
    auto it = view.store->NewIterator(cf, scan);
    it->Seek(from);
    while (it->Valid()) {
      std::string_view rest = it->key().substr(tag.size() + parent.key.size());
      size_t end = rest.find(options_.delimiter);
      std::string component(rest.substr(0, end));
      if (PathCodec::Hash(component) == decoded.hash &&
          codec_.Encode(component, decoded.role, at_root) == name) {
        *found = std::move(component);
        return it->status();
      }
      std::string skip = std::string(tag) + parent.key + component;
      if (end != std::string_view::npos) skip = kv::PrefixSuccessor(skip + options_.delimiter);
      else skip.push_back('\0');
      it->SkipTo(skip);
    }
    return it->status();
  };
  std::string component;
  bool found = false;
  kv::Status s = search(view.data, "", &component);
  if (!s.ok()) return Fail(s, "scan", start);
  found = !component.empty();  // hashed components are never empty
  if (!found && view.meta.load()) {
    s = search(view.meta.load(), "d", &component);
    if (!s.ok()) return Fail(s, "scan", start);
    found = !component.empty();
  }
  if (!found) {
    child->component.clear();
    child->hashed = true;
    return ENOENT;
  }
  Child resolved;
  resolved.component = component;
  resolved.role = decoded.role;
  resolved.hashed = true;
  resolved.key = parent.key + component;
  resolved.prefix = resolved.key + options_.delimiter;
  resolved.dir_exists = DirExists(view, resolved.prefix, &s);
  if (!s.ok()) return Fail(s, "scan", resolved.prefix);
  s = view.store->Get({}, view.data, resolved.key, &resolved.value);
  if (s.ok()) resolved.file_exists = true;
  else if (!s.IsNotFound()) return Fail(s, "read", resolved.key);
  *child = std::move(resolved);
  return 0;
}

void Filesystem::FillAttr(const View& view, NodeKind kind, std::string_view key, uint64_t size,
                          const Metadata* meta, struct stat* st) const {
  *st = {};
  const Defaults& d = options_.defaults;
  st->st_ino = meta && meta->ino ? meta->ino : StableIno(kind, key);
  st->st_nlink = 1;  // 1 for directories too: "subdirectory count unknown"
  st->st_blksize = 4096;
  if (kind == NodeKind::kDirectory) {
    st->st_mode = S_IFDIR | d.dir_mode;
    st->st_size = 4096;
  } else {
    st->st_mode = S_IFREG | d.file_mode;
    st->st_size = static_cast<off_t>(size);
  }
  st->st_uid = d.uid;
  st->st_gid = d.gid;
  TimeNs mtime = view.default_time, ctime = view.default_time, atime = view.default_time;
  if (meta) {
    mode_t type = meta->mode & S_IFMT;
    if (kind == NodeKind::kDirectory) {
      type = S_IFDIR;
    } else if (type != S_IFLNK && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
               type != S_IFBLK) {
      type = S_IFREG;
    }
    st->st_mode = type | (meta->mode & 07777);
    if (type == S_IFCHR || type == S_IFBLK) st->st_rdev = meta->rdev;
    if (kind == NodeKind::kFile && !meta->links.empty()) st->st_nlink = meta->links.size();
    st->st_uid = meta->uid;
    st->st_gid = meta->gid;
    mtime = meta->mtime;
    ctime = meta->ctime;
    atime = meta->atime;
    // A snapshot's root shows when the snapshot was taken (its store's
    // creation time), not the last change to the root it copied.
    if (kind == NodeKind::kDirectory && key.empty() && view.owned_store) {
      mtime = ctime = atime = view.default_time;
    }
  }
  if (view.read_only) st->st_mode &= ~(S_IWUSR | S_IWGRP | S_IWOTH);
  st->st_blocks = (st->st_size + 511) / 512;
  SetTime(&st->st_mtim, mtime);
  SetTime(&st->st_ctim, ctime);
  SetTime(&st->st_atim, atime);
}

int Filesystem::StatKey(View& view, NodeKind kind, std::string_view key, const NodeInfo* node,
                        struct stat* st) {
  Metadata meta;
  if (kind == NodeKind::kDirectory) {
    bool has = LoadMeta(view, DirMetaKey(key), &meta);
    FillAttr(view, kind, key, 0, has ? &meta : nullptr, st);
    return 0;
  }
  // The committed size; an open file shows its own (ApplyOpenFile), and an
  // unlinked one lives on in its open file only.
  uint64_t size = 0;
  uint64_t generation = commit_generation();
  if (!node || !node->detached) {
    kv::Value value;
    kv::Status s = view.store->Get({}, view.data, key, &value);
    if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", key);
    size = value.size();
  }
  // An unlinked file's record is gone (or is a new file's): it keeps the
  // attributes it had.
  bool has = node && node->detached ? DetachedMeta(node->id, &meta)
                                    : LoadMeta(view, FileMetaKey(key), &meta);
  FillAttr(view, kind, key, size, has ? &meta : nullptr, st);
  if (node && !ApplyOpenFile(node->id, st) && !node->detached) {
    FreshSize(view, node->id, key, generation, st);
  }
  if (node && node->detached) st->st_nlink = 0;
  return 0;
}

Metadata Filesystem::FileMetaOrDefaults(View& view, std::string_view key) {
  Metadata meta;
  if (LoadMeta(view, FileMetaKey(key), &meta)) return meta;
  return DefaultFileMeta(view);
}

Metadata Filesystem::DefaultFileMeta(const View& view) const {
  Metadata meta;
  meta.mode = S_IFREG | options_.defaults.file_mode;
  meta.uid = options_.defaults.uid;
  meta.gid = options_.defaults.gid;
  meta.mtime = meta.ctime = meta.atime = view.default_time;
  return meta;
}

void Filesystem::RememberDetached(NodeId node, Metadata meta) {
  if (node == 0) return;
  meta.ctime = NowNs();  // its link count changes
  std::lock_guard lock(detached_mutex_);
  detached_meta_[node] = std::move(meta);
  any_detached_.store(true, std::memory_order_relaxed);
}

bool Filesystem::DetachedMeta(NodeId node, Metadata* meta) {
  std::lock_guard lock(detached_mutex_);
  auto it = detached_meta_.find(node);
  if (it == detached_meta_.end()) return false;
  *meta = it->second;
  return true;
}

int Filesystem::ChangeDetachedMeta(NodeId node, const std::function<int(Metadata*)>& change) {
  std::lock_guard lock(detached_mutex_);
  auto it = detached_meta_.find(node);
  if (it == detached_meta_.end()) return ENOENT;
  Metadata meta = it->second;
  if (int err = change(&meta)) return err;
  meta.ctime = NowNs();
  it->second = std::move(meta);
  return 0;
}

void Filesystem::DropDetachedIfFreed(NodeId node) {
  if (!any_detached_.load(std::memory_order_relaxed)) return;
  NodeInfo info;
  if (inodes_.Get(node, &info)) return;
  std::lock_guard lock(detached_mutex_);
  detached_meta_.erase(node);
  if (detached_meta_.empty()) any_detached_.store(false, std::memory_order_relaxed);
}

int Filesystem::FillEntry(View& view, NodeId parent, const Child& child, Entry* out,
                          uint64_t lookups) {
  Metadata meta;
  if (child.is_dir()) {
    bool has = LoadMeta(view, DirMetaKey(child.prefix), &meta);
    FillAttr(view, NodeKind::kDirectory, child.prefix, 0, has ? &meta : nullptr, &out->attr);
    out->node = inodes_.Acquire(parent, NodeKind::kDirectory, child.component, lookups);
    return 0;
  }
  if (!child.is_file()) return ENOENT;
  bool has = LoadMeta(view, FileMetaKey(child.key), &meta);
  NodeId id = inodes_.Acquire(parent, NodeKind::kFile, child.component, lookups);
  FillAttr(view, NodeKind::kFile, child.key, child.value.size(), has ? &meta : nullptr,
           &out->attr);
  if (!ApplyOpenFile(id, &out->attr)) FreshSize(view, id, child.key, child.generation, &out->attr);
  out->node = id;
  return 0;
}

int Filesystem::Lookup(NodeId parent, std::string_view name, Entry* out) {
  *out = {};
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir)) return ENOENT;
  if (dir.control != Control::kNone ||
      (parent == kRootNode && name == kControlDirName)) {
    return ControlLookup(dir, name, out);
  }
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  Child child;
  int err = ResolveChild(*view, dir, name, &child);
  if (err == EINVAL) return ENOENT;  // a name no key can have
  if (err) return err;
  if (!child.is_dir() && !child.is_file()) return 0;  // negative entry
  return FillEntry(*view, parent, child, out, 1);
}

void Filesystem::Forget(NodeId node, uint64_t count) {
  inodes_.Forget(node, count);
  DropDetachedIfFreed(node);
}

int Filesystem::GetAttr(NodeId node, struct stat* out) {
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.control != Control::kNone) {
    ControlAttr(info, out);
    return 0;
  }
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  return StatKey(*view, info.kind, info.key, &info, out);
}

int Filesystem::Readlink(NodeId node, std::string* target) {
  NodeInfo info;
  if (!inodes_.Get(node, &info) || info.control != Control::kNone) return EINVAL;
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  Metadata meta;
  if (info.kind != NodeKind::kFile || !LoadMeta(*view, FileMetaKey(info.key), &meta) ||
      (meta.mode & S_IFMT) != S_IFLNK) {
    return EINVAL;
  }
  kv::Value value;
  kv::Status s = view->store->Get({}, view->data, info.key, &value);
  if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", info.key);
  target->assign(value.view());
  return 0;
}

int Filesystem::Access(NodeId node, int mask) {
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.control != Control::kNone) {
    // Control files are read-only text; control directories take mkdir.
    if (info.kind == NodeKind::kFile && (mask & (W_OK | X_OK))) return EACCES;
    return 0;
  }
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  if ((mask & W_OK) && view->read_only) return EROFS;
  if ((mask & X_OK) && info.kind == NodeKind::kFile) {
    // The kernel refuses to exec a regular file with no execute bit, even
    // for root, and so does access(2) on a local filesystem.
    struct stat st;
    if (int err = StatKey(*view, info.kind, info.key, &info, &st)) return err;
    if (S_ISREG(st.st_mode) && !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) return EACCES;
  }
  return 0;
}

int Filesystem::StatFs(struct statvfs* out) {
  *out = {};
  // A store that is no local directory (a cluster URL) has no disk under
  // it: only the key count is real then.
  struct statvfs disk {};
  if (::statvfs(store_->path().c_str(), &disk) != 0) disk = {};
  kv::Usage usage;
  (void)store_->GetUsage(ViewOf(kMainView)->data, &usage);
  constexpr uint64_t kBlock = 4096;
  out->f_bsize = kBlock;
  out->f_frsize = kBlock;
  out->f_blocks = disk.f_blocks * disk.f_frsize / kBlock;
  out->f_bfree = disk.f_bfree * disk.f_frsize / kBlock;
  out->f_bavail = disk.f_bavail * disk.f_frsize / kBlock;
  // A key costs about 64 bytes at least: that bounds how many more fit.
  uint64_t free_keys = disk.f_bavail * disk.f_frsize / 64;
  out->f_files = usage.estimated_keys + free_keys;
  out->f_ffree = free_keys;
  out->f_favail = free_keys;
  out->f_namemax = kNameMax;
  if (read_only_) out->f_flag |= ST_RDONLY;
  return 0;
}

// Reads, changes and writes a node's metadata record in one batch (a key
// without a record starts from what GetAttr shows). `change` returns an
// errno to abandon the write.
int Filesystem::SetMeta(View& view, const NodeInfo& info,
                        const std::function<int(Metadata*)>& change) {
  if (options_.nometa) return EPERM;
  if (int err = EnsureMeta(view)) return err;
  std::unique_lock ns(namespace_mutex_);
  std::string meta_key =
      info.kind == NodeKind::kDirectory ? DirMetaKey(info.key) : FileMetaKey(info.key);
  Metadata meta;
  if (!LoadMeta(view, meta_key, &meta)) {
    struct stat st;
    if (int err = StatKey(view, info.kind, info.key, &info, &st)) return err;
    meta.mode = st.st_mode;
    meta.uid = st.st_uid;
    meta.gid = st.st_gid;
    meta.mtime = meta.atime = meta.ctime = view.default_time;
  }
  if (int err = change(&meta)) return err;
  meta.ctime = NowNs();
  kv::Batch batch;
  if (info.kind == NodeKind::kFile) {
    PutMetaForAllNames(view, info.key, meta, &batch);  // one record for all names
    batch.ExpectPresent(view.data, info.key);
  } else {
    batch.Put(view.meta.load(), meta_key, EncodeMetadata(meta));
  }
  kv::Status s = view.store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return ENOENT;
  if (!s.ok()) return Fail(s, "set metadata", info.key);
  ns.unlock();
  if (info.kind == NodeKind::kFile) OtherNamesChanged(info.id, info.key, meta);
  return 0;
}

int Filesystem::SetAttr(NodeId node, uint64_t fh, const SetAttrRequest& request,
                        struct stat* out) {
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.control != Control::kNone) return EPERM;
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (request.size) {
    if (info.kind == NodeKind::kDirectory) return EISDIR;
    if (int err = Truncate(view, info, *request.size)) return err;
    if (!inodes_.Get(node, &info)) return ENOENT;
  }
  bool meta_change = request.mode || request.uid || request.gid || request.atime || request.mtime;
  auto apply = [&](Metadata* meta) {
    if (request.mode) meta->mode = (meta->mode & S_IFMT) | (*request.mode & 07777);
    if (request.uid) meta->uid = *request.uid;
    if (request.gid) meta->gid = *request.gid;
    if (request.atime) meta->atime = *request.atime;
    if (request.mtime) meta->mtime = *request.mtime;
    return 0;
  };
  if (meta_change && info.detached) {
    // fchmod, fchown, futimens of an unlinked file: its record is gone.
    if (info.kind == NodeKind::kFile && ChangeDetachedMeta(node, apply) == 0) {
      return StatKey(*view, info.kind, info.key, &info, out);
    }
  } else if (meta_change) {
    if (int err = SetMeta(*view, info, apply)) return err;
  }
  if (meta_change) {
    if (std::shared_ptr<OpenFile> file = FindOpenFile(node); file && !info.detached) {
      // The record now holds the times the next commit must keep: an
      // explicit mtime outlives the writes before it (tar and cp -a set
      // times with futimens before they close), and the ctime it shows
      // stays the one the kernel was just told.
      TimeNs ctime = FileMetaOrDefaults(*view, info.key).ctime;
      std::unique_lock lock(file->mutex);
      if (request.mtime) file->mtime = 0;
      file->ctime = ctime;
    }
  }
  return StatKey(*view, info.kind, info.key, &info, out);
}

int Filesystem::SetXattr(NodeId node, std::string_view name, std::string_view value, int flags) {
  if (name.rfind(kUserXattrPrefix, 0) != 0) return ENOTSUP;
  if (name.size() == kUserXattrPrefix.size()) return EINVAL;  // as the VFS says for ext4
  if (name.size() > kXattrNameMax) return ERANGE;
  if (value.size() > kXattrValueMax) return E2BIG;
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.control != Control::kNone) return ENOTSUP;
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (options_.nometa) return ENOTSUP;
  auto change = [&](Metadata* meta) {
    auto it = meta->xattrs.find(std::string(name));
    bool exists = it != meta->xattrs.end();
    if ((flags & XATTR_CREATE) && exists) return EEXIST;
    if ((flags & XATTR_REPLACE) && !exists) return ENODATA;
    size_t total = name.size() + value.size();
    for (const auto& [n, v] : meta->xattrs) {
      if (n != name) total += n.size() + v.size();
    }
    if (total > kXattrTotalMax) return ENOSPC;
    meta->xattrs[std::string(name)] = std::string(value);
    return 0;
  };
  if (info.detached) {
    return info.kind == NodeKind::kFile ? ChangeDetachedMeta(node, change) : ENOENT;
  }
  return SetMeta(*view, info, change);
}

int Filesystem::GetXattr(NodeId node, std::string_view name, std::string* value) {
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  // Only user.* exists here. ENOTSUP (not ENODATA) for the rest lets tools
  // such as ls(1) note once per filesystem that there are no ACLs or
  // security labels, instead of asking for every file.
  if (name.rfind(kUserXattrPrefix, 0) != 0) return ENOTSUP;
  if (info.control != Control::kNone) return ENODATA;
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  Metadata meta;
  if (!LoadNodeMeta(*view, info, &meta)) return ENODATA;
  auto it = meta.xattrs.find(std::string(name));
  if (it == meta.xattrs.end()) return ENODATA;
  *value = it->second;
  return 0;
}

int Filesystem::ListXattr(NodeId node, std::string* names) {
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  names->clear();
  if (info.control != Control::kNone) return 0;
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  Metadata meta;
  if (!LoadNodeMeta(*view, info, &meta)) return 0;
  for (const auto& [name, value] : meta.xattrs) {
    names->append(name);
    names->push_back('\0');
  }
  return 0;
}

int Filesystem::RemoveXattr(NodeId node, std::string_view name) {
  if (name.rfind(kUserXattrPrefix, 0) != 0) return ENOTSUP;
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.control != Control::kNone) return ENOTSUP;
  auto view = ViewOf(info);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (options_.nometa) return ENOTSUP;
  auto change = [&](Metadata* meta) {
    return meta->xattrs.erase(std::string(name)) == 0 ? ENODATA : 0;
  };
  if (info.detached) {
    return info.kind == NodeKind::kFile ? ChangeDetachedMeta(node, change) : ENOENT;
  }
  return SetMeta(*view, info, change);
}

}  // namespace rocksfs::fs
