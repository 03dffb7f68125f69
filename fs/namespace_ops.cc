// Filesystem: namespace changes. Each is one atomic kv::Batch, taken under
// the exclusive namespace lock so that the keys it reads stay put until it
// writes.
#include <fcntl.h>
#include <linux/fs.h>  // RENAME_NOREPLACE, RENAME_EXCHANGE
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {

namespace {

// A name of a hard-link group moved from `from` to `to`.
void RenameLink(std::vector<std::string>* links, std::string_view from, std::string_view to) {
  if (links->empty()) return;
  for (std::string& link : *links) {
    if (link == from) link = std::string(to);
  }
  std::sort(links->begin(), links->end());
}

bool HasLink(const Metadata& meta, std::string_view key) {
  return std::find(meta.links.begin(), meta.links.end(), key) != meta.links.end();
}

// How many inos one write of the counter reserves: a remount skips what its
// predecessor reserved and did not use.
constexpr uint64_t kInoBlock = 1024;

}  // namespace

int Filesystem::AllocateIno(View& view, uint64_t* ino) {
  std::lock_guard lock(view.ino_mutex);
  if (view.next_ino == view.ino_limit) {
    uint64_t next = view.next_ino;
    kv::ColumnFamily* meta = view.meta.load();
    if (next == 0) {
      kv::Value value;
      kv::Status s = view.store->Get({}, meta, kInoCounterKey, &value);
      if (s.IsNotFound()) {
        next = 1;
      } else if (!s.ok()) {
        return Fail(s, "read", kInoCounterKey);
      } else {
        std::string text(value.view());
        char* end = nullptr;
        next = std::strtoull(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || next == 0) {
          spdlog::error("malformed ino counter '{}' in '{}'", text, view.meta_cf_name);
          return EIO;
        }
      }
    }
    // The reservation reaches the log before any file that uses it: after a
    // crash, recovery keeps a prefix of the log, so no ino comes back.
    kv::Batch batch;
    batch.Put(meta, std::string(kInoCounterKey), std::to_string(next + kInoBlock));
    kv::Status s = view.store->Write({options_.sync}, batch);
    counters_.batches.fetch_add(1, std::memory_order_relaxed);
    if (!s.ok()) return Fail(s, "reserve inos", kInoCounterKey);
    view.next_ino = next;
    view.ino_limit = next + kInoBlock;
  }
  *ino = kAllocatedInoBit | view.next_ino++;
  return 0;
}

int Filesystem::PrepareNewEntry(View& view, mode_t mode, dev_t rdev, const Caller& caller,
                                const NodeInfo& parent, Metadata* meta, kv::Batch* batch) {
  if (int err = EnsureMeta(view)) return err;
  Metadata m;
  m.mode = mode;
  m.uid = caller.uid;
  m.gid = caller.gid;
  m.rdev = rdev;
  if (int err = AllocateIno(view, &m.ino)) return err;
  // A setgid directory hands its group down, and setgid to subdirectories.
  Metadata parent_meta = DirMetaOrDefaults(view, parent.key);
  if (parent_meta.mode & S_ISGID) {
    m.gid = parent_meta.gid;
    if (S_ISDIR(mode)) m.mode |= S_ISGID;
  }
  m.mtime = m.ctime = m.atime = NowNs();
  TouchDirectory(view, parent.key, std::move(parent_meta), m.mtime, batch);
  *meta = std::move(m);
  return 0;
}

int Filesystem::Mknod(NodeId parent, std::string_view name, mode_t mode, dev_t rdev,
                      const Caller& caller, Entry* out) {
  mode_t type = mode & S_IFMT;
  if (type == 0 || type == S_IFREG) {
    OpenResult handle;
    if (int err = Create(parent, name, mode, O_WRONLY | O_EXCL, caller, out, &handle)) return err;
    Release(handle.fh);
    return 0;
  }
  if (type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK) return EPERM;
  if (type != S_IFCHR && type != S_IFBLK) rdev = 0;
  return CreateTyped(parent, name, type | (mode & 07777), rdev, "", caller, out);
}

int Filesystem::Mkdir(NodeId parent, std::string_view name, mode_t mode, const Caller& caller,
                      Entry* out) {
  *out = {};
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir) || dir.detached) return ENOENT;
  if (dir.control != Control::kNone) return ControlMkdir(dir, name, out);
  if (parent == kRootNode && name == kControlDirName) return EEXIST;
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  std::unique_lock ns(namespace_mutex_);
  Child child;
  if (int err = ResolveChild(*view, dir, name, &child)) return err == ENOENT ? EINVAL : err;
  if (child.is_dir() || child.is_file()) return EEXIST;
  if (child.hashed || child.role != NameRole::kPlain) return EINVAL;
  // Nowhere to persist an empty directory: fail rather than claim a
  // directory that would not survive (SPEC: nometa is a pure view).
  if (options_.nometa) return EPERM;
  kv::Batch batch;
  Metadata meta;
  if (int err = PrepareNewEntry(*view, S_IFDIR | (mode & 07777), 0, caller, dir, &meta, &batch)) {
    return err;
  }
  batch.Put(view->meta.load(), DirMetaKey(child.prefix), EncodeMetadata(meta));
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (!s.ok()) return Fail(s, "mkdir", child.prefix);
  out->node = inodes_.Acquire(parent, NodeKind::kDirectory, child.component, 1);
  FillAttr(*view, NodeKind::kDirectory, child.prefix, 0, &meta, &out->attr);
  return 0;
}

int Filesystem::Symlink(std::string_view target, NodeId parent, std::string_view name,
                        const Caller& caller, Entry* out) {
  *out = {};
  if (target.size() > options_.max_value_size) return ENAMETOOLONG;
  return CreateTyped(parent, name, S_IFLNK | 0777, 0, target, caller, out);
}

int Filesystem::CreateTyped(NodeId parent, std::string_view name, mode_t mode, dev_t rdev,
                            std::string_view value, const Caller& caller, Entry* out) {
  *out = {};
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir) || dir.detached) return ENOENT;
  if (dir.control != Control::kNone) return EACCES;
  if (parent == kRootNode && name == kControlDirName) return EEXIST;
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (options_.nometa) return EPERM;  // the key's type lives in its record
  if (int err = EnsureMeta(*view)) return err;
  std::shared_lock ns(namespace_mutex_);
  Child child;
  if (int err = ResolveChild(*view, dir, name, &child)) return err == ENOENT ? EINVAL : err;
  if (child.is_dir() || child.file_exists) return EEXIST;
  if (child.hashed || child.role != NameRole::kPlain) return EINVAL;
  kv::Batch batch;
  Metadata meta;
  if (int err = PrepareNewEntry(*view, mode, rdev, caller, dir, &meta, &batch)) return err;
  batch.ExpectAbsent(view->data, child.key);
  batch.Put(view->data, child.key, std::string(value));
  batch.Put(view->meta.load(), FileMetaKey(child.key), EncodeMetadata(meta));
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return EEXIST;
  if (!s.ok()) return Fail(s, S_ISLNK(mode) ? "symlink" : "mknod", child.key);
  out->node = inodes_.Acquire(parent, NodeKind::kFile, child.component, 1);
  FillAttr(*view, NodeKind::kFile, child.key, value.size(), &meta, &out->attr);
  return 0;
}

int Filesystem::Unlink(NodeId parent, std::string_view name) {
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir)) return ENOENT;
  if (dir.control != Control::kNone) return EACCES;
  if (parent == kRootNode && name == kControlDirName) return EISDIR;
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  std::unique_lock ns(namespace_mutex_);
  Child child;
  if (int err = ResolveChild(*view, dir, name, &child)) return err == EINVAL ? ENOENT : err;
  if (child.is_dir()) return EISDIR;
  if (!child.is_file()) return ENOENT;
  Metadata meta;
  kv::ColumnFamily* meta_cf = view->meta.load();
  const bool has_meta = meta_cf && LoadMeta(*view, FileMetaKey(child.key), &meta);
  // An open descriptor keeps the file's attributes (fstat, fchmod).
  RememberDetached(inodes_.Find(parent, NodeKind::kFile, child.component),
                   has_meta ? meta : DefaultFileMeta(*view));
  TimeNs now = NowNs();
  kv::Batch batch;
  batch.ExpectPresent(view->data, child.key);
  batch.Delete(view->data, child.key);
  if (meta_cf) {
    batch.Delete(meta_cf, FileMetaKey(child.key));
    if (has_meta) LeaveGroup(*view, child.key, meta, now, &batch);
  }
  TouchDirectory(*view, dir.key, now, &batch);
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return ENOENT;
  if (!s.ok()) return Fail(s, "unlink", child.key);
  inodes_.Detach(parent, NodeKind::kFile, child.component);
  ns.unlock();
  if (has_meta) OtherNamesChanged(parent, child.key, meta);  // one link fewer
  return 0;
}

int Filesystem::Rmdir(NodeId parent, std::string_view name) {
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir)) return ENOENT;
  if (dir.control != Control::kNone) return ControlRmdir(dir, name);
  if (parent == kRootNode && name == kControlDirName) return EBUSY;
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  std::unique_lock ns(namespace_mutex_);
  Child child;
  if (int err = ResolveChild(*view, dir, name, &child)) return err == EINVAL ? ENOENT : err;
  if (!child.is_dir()) return child.is_file() ? ENOTDIR : ENOENT;
  kv::Batch batch;
  batch.ExpectRangeEmpty(view->data, child.prefix, kv::PrefixSuccessor(child.prefix));
  if (kv::ColumnFamily* meta = view->meta.load()) {
    std::string marker = DirMetaKey(child.prefix);
    batch.ExpectRangeEmpty(meta, marker + '\0', kv::PrefixSuccessor(marker));
    batch.Delete(meta, marker);
  }
  TouchDirectory(*view, dir.key, NowNs(), &batch);
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return ENOTEMPTY;
  if (!s.ok()) return Fail(s, "rmdir", child.prefix);
  inodes_.Detach(parent, NodeKind::kDirectory, child.component);
  if (child.file_exists) ForgetValueName(parent, dir, child.component);
  return 0;
}

int Filesystem::Rename(NodeId parent, std::string_view name, NodeId new_parent,
                       std::string_view new_name, unsigned flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return EINVAL;
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return EINVAL;
  NodeInfo src_dir, dst_dir;
  if (!inodes_.Get(parent, &src_dir) || !inodes_.Get(new_parent, &dst_dir) ||
      dst_dir.detached) {
    return ENOENT;
  }
  if ((parent == kRootNode && name == kControlDirName) ||
      (new_parent == kRootNode && new_name == kControlDirName)) {
    return EBUSY;
  }
  if (src_dir.control != Control::kNone || dst_dir.control != Control::kNone) return EACCES;
  auto view = ViewOf(src_dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (dst_dir.view != src_dir.view) return EXDEV;  // another column family or snapshot
  std::unique_lock ns(namespace_mutex_);
  Child src, dst;
  if (int err = ResolveChild(*view, src_dir, name, &src)) return err == EINVAL ? ENOENT : err;
  if (!src.is_dir() && !src.is_file()) return ENOENT;
  if (int err = ResolveChild(*view, dst_dir, new_name, &dst)) {
    if (err != ENOENT) return err;  // EINVAL, ENAMETOOLONG
  }
  if (dst.hashed && !dst.is_dir() && !dst.is_file()) return EINVAL;
  bool dst_exists = dst.is_dir() || dst.is_file();
  if (dst.role == NameRole::kDirValue && !dst.dir_exists) return EINVAL;
  if ((flags & RENAME_NOREPLACE) && dst_exists) return EEXIST;
  if ((flags & RENAME_EXCHANGE) && !dst_exists) return ENOENT;
  // Documented: RENAME_EXCHANGE swaps two keys' values, never subtrees.
  if ((flags & RENAME_EXCHANGE) && (src.is_dir() || dst.is_dir())) return EINVAL;

  // A rename changes the moved entries' ctime and their directories' mtime
  // and ctime, so each gets a record (a key without one starts from the
  // defaults it showed, and keeps the st_ino it showed).
  if (!options_.nometa) {
    if (int err = EnsureMeta(*view)) return err;
  }

  if (src.is_dir()) {
    // "x%{@}" names the value of key x, never a directory.
    if (dst.role != NameRole::kPlain) return EINVAL;
    if (dst.is_file() || (dst.role == NameRole::kPlain && dst.file_exists && !dst.dir_exists)) {
      return ENOTDIR;
    }
    if (dst.prefix == src.prefix) return 0;
    if (dst.prefix.compare(0, src.prefix.size(), src.prefix) == 0) return EINVAL;
    return RenameDirectory(*view, src_dir, src, dst_dir, dst);
  }

  // A file (or symlink, or special file).
  if (dst.is_dir()) return EISDIR;
  if (dst.key == src.key) return 0;
  kv::ColumnFamily* meta = view->meta.load();
  TimeNs now = NowNs();
  Metadata src_meta, dst_meta;
  // Two names of one hard-link group. rename(2) would do nothing, but the
  // kernel holds a node per name, and moves src's over dst's: src's name
  // goes, as if unlinked (an exchange swaps the two nodes and no data).
  bool same_file = false;
  if (meta) {
    src_meta = FileMetaOrDefaults(*view, src.key);
    if (src_meta.ino == 0) src_meta.ino = StableIno(NodeKind::kFile, src.key);
    src_meta.ctime = now;
    same_file = dst.is_file() && HasLink(src_meta, dst.key);
    if (dst.is_file() && !same_file) {
      dst_meta = FileMetaOrDefaults(*view, dst.key);
      if (dst_meta.ino == 0) dst_meta.ino = StableIno(NodeKind::kFile, dst.key);
      dst_meta.ctime = now;
    }
  }
  kv::Batch batch;
  if (flags & RENAME_EXCHANGE) {
    if (!same_file) {
      batch.Put(view->data, src.key, std::string(dst.value.view()));
      batch.Put(view->data, dst.key, std::string(src.value.view()));
    }
    if (meta && !same_file) {
      RenameLink(&src_meta.links, src.key, dst.key);
      RenameLink(&dst_meta.links, dst.key, src.key);
      PutMetaForAllNames(*view, src.key, dst_meta, &batch);
      PutMetaForAllNames(*view, dst.key, src_meta, &batch);
    }
  } else if (same_file) {
    if (NodeId node = inodes_.Find(new_parent, NodeKind::kFile, dst.component)) {
      RememberDetached(node, FileMetaOrDefaults(*view, dst.key));
    }
    batch.ExpectPresent(view->data, src.key);
    batch.Delete(view->data, src.key);
    batch.Delete(meta, FileMetaKey(src.key));
    LeaveGroup(*view, src.key, src_meta, now, &batch);
    src_meta.links.erase(std::remove(src_meta.links.begin(), src_meta.links.end(), src.key),
                         src_meta.links.end());
  } else {
    NodeId node = dst.is_file() ? inodes_.Find(new_parent, NodeKind::kFile, dst.component) : 0;
    if (node != 0) RememberDetached(node, FileMetaOrDefaults(*view, dst.key));
    batch.Delete(view->data, src.key);
    batch.Put(view->data, dst.key, std::string(src.value.view()));
    if (meta) {
      if (dst.is_file()) LeaveGroup(*view, dst.key, dst_meta, now, &batch);
      RenameLink(&src_meta.links, src.key, dst.key);
      batch.Delete(meta, FileMetaKey(src.key));
      PutMetaForAllNames(*view, dst.key, src_meta, &batch);
    }
  }
  TouchDirectory(*view, src_dir.key, now, &batch);
  if (dst_dir.key != src_dir.key) TouchDirectory(*view, dst_dir.key, now, &batch);
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (!s.ok()) return Fail(s, "rename", src.key);

  NodeId src_node = inodes_.Find(parent, NodeKind::kFile, src.component);
  if (flags & RENAME_EXCHANGE) {
    NodeId dst_node = inodes_.Find(new_parent, NodeKind::kFile, dst.component);
    if (src_node) inodes_.DetachNode(src_node);
    if (dst_node) inodes_.DetachNode(dst_node);
    if (src_node) inodes_.Move(src_node, new_parent, dst.component);
    if (dst_node) inodes_.Move(dst_node, parent, src.component);
  } else {
    inodes_.Detach(new_parent, NodeKind::kFile, dst.component);
    if (src_node) inodes_.Move(src_node, new_parent, dst.component);
  }
  ns.unlock();
  // The other names of both groups: ctime, and for the replaced file's
  // group the link count.
  if (meta) {
    OtherNamesChanged(parent, dst.key, src_meta);
    if (flags & RENAME_EXCHANGE) OtherNamesChanged(parent, src.key, dst_meta);
    else OtherNamesChanged(parent, dst.key, dst_meta);
  }
  return 0;
}

int Filesystem::RenameDirectory(View& view, const NodeInfo& src_dir, const Child& src,
                                const NodeInfo& dst_dir, const Child& dst) {
  // REQUIRES: namespace_mutex_ held exclusively.
  if (dst.is_dir()) {
    kv::Status s;
    bool empty = DirIsEmpty(view, dst.prefix, {}, &s);
    if (!s.ok()) return Fail(s, "scan", dst.prefix);
    if (!empty) return ENOTEMPTY;
  }
  kv::Batch batch;
  uint64_t keys = 0;
  auto too_big = [&] {
    return keys > options_.max_rename_keys || batch.ByteSize() > options_.max_rename_bytes;
  };
  // Hard-link groups with a name in the subtree, by their first name (every
  // name holds the same list): their lists change.
  std::map<std::string, Metadata> groups;
  // Move every key of the subtree, and its metadata records.
  auto move_range = [&](kv::ColumnFamily* cf, const std::string& from, const std::string& to,
                        bool file_records) {
    kv::ScanOptions scan;
    scan.lower_bound = from;
    scan.upper_bound = kv::PrefixSuccessor(from);
    scan.fill_cache = false;
    auto it = view.store->NewIterator(cf, scan);
    for (it->Seek(from); it->Valid() && !too_big(); it->Next()) {
      std::string_view key = it->key();
      batch.Delete(cf, std::string(key));
      batch.Put(cf, to + std::string(key.substr(from.size())), std::string(it->value()));
      ++keys;
      Metadata record;
      if (file_records && DecodeMetadata(it->value(), &record) && !record.links.empty()) {
        groups.emplace(record.links.front(), std::move(record));
      }
    }
    return it->status();
  };
  kv::ColumnFamily* meta = view.meta.load();
  if (meta && dst.is_dir()) batch.Delete(meta, DirMetaKey(dst.prefix));
  kv::Status s = move_range(view.data, src.prefix, dst.prefix, false);
  if (s.ok() && meta) s = move_range(meta, DirMetaKey(src.prefix), DirMetaKey(dst.prefix), false);
  if (s.ok() && meta) {
    s = move_range(meta, FileMetaKey(src.prefix), FileMetaKey(dst.prefix), true);
  }
  if (!s.ok()) return Fail(s, "scan for rename", src.prefix);
  // Every name of a moved group, inside the subtree (overriding the record
  // moved above) or outside it, holds the new list.
  for (auto& [first, group] : groups) {
    for (std::string& link : group.links) {
      if (link.compare(0, src.prefix.size(), src.prefix) == 0) {
        link = dst.prefix + link.substr(src.prefix.size());
      }
    }
    std::sort(group.links.begin(), group.links.end());
    PutMetaForAllNames(view, group.links.front(), group, &batch);
    keys += group.links.size();
  }
  TimeNs now = NowNs();
  if (meta) {
    // The directory keeps its st_ino (one without a record: the hash of its
    // old prefix). Directories and keys below it without a record show the
    // hash of their new path.
    Metadata dir_meta = DirMetaOrDefaults(view, src.prefix);
    if (dir_meta.ino == 0) dir_meta.ino = StableIno(NodeKind::kDirectory, src.prefix);
    dir_meta.ctime = now;  // overrides the record moved above
    batch.Put(meta, DirMetaKey(dst.prefix), EncodeMetadata(dir_meta));
  }
  if (too_big()) {
    spdlog::info("rename of '{}' refused with EXDEV: more than {} keys or {} bytes", src.prefix,
                 options_.max_rename_keys, options_.max_rename_bytes);
    return EXDEV;
  }
  TouchDirectory(view, src_dir.key, now, &batch);
  if (dst_dir.key != src_dir.key) TouchDirectory(view, dst_dir.key, now, &batch);
  s = view.store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.code() == kv::Code::kTooLarge) {
    // Over the engine's own batch limits (etcd: --max-txn-ops or
    // --max-request-bytes); nothing was written, and mv copies instead.
    spdlog::info("rename of '{}' refused with EXDEV: {}", src.prefix, s.ToString());
    return EXDEV;
  }
  if (!s.ok()) return Fail(s, "rename", src.prefix);
  NodeId src_node = inodes_.Find(src_dir.id, NodeKind::kDirectory, src.component);
  inodes_.Detach(dst_dir.id, NodeKind::kDirectory, dst.component);
  if (src_node) inodes_.Move(src_node, dst_dir.id, dst.component);
  if (src.file_exists) ForgetValueName(src_dir.id, src_dir, src.component);
  return 0;
}

void Filesystem::ForgetValueName(NodeId parent, const NodeInfo& dir, std::string_view component) {
  // Key `component` was shown as "component%{@}" beside its directory; with
  // the directory gone it is plain "component" again, so the kernel must
  // forget the old name or the key would have two paths.
  if (!kernel_cache_) return;
  kernel_cache_->InvalidateEntry(parent,
                                 codec_.Encode(component, NameRole::kDirValue, dir.key.empty()));
}

}  // namespace rocksfs::fs
