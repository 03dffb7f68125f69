// Filesystem: namespace changes. Each is one atomic kv::Batch, taken under
// the exclusive namespace lock so that the keys it reads stay put until it
// writes.
#include <fcntl.h>
#include <linux/fs.h>  // RENAME_NOREPLACE, RENAME_EXCHANGE
#include <spdlog/spdlog.h>

#include <cerrno>

#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {

int Filesystem::Mknod(NodeId parent, std::string_view name, mode_t mode, const Caller& caller,
                      Entry* out) {
  if (!S_ISREG(mode) && (mode & S_IFMT) != 0) return EPERM;  // no device nodes or FIFOs
  OpenResult handle;
  if (int err = Create(parent, name, mode, O_WRONLY | O_EXCL, caller, out, &handle)) return err;
  Release(handle.fh);
  return 0;
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
  if (int err = EnsureMeta(*view)) return err;
  Metadata meta = NewMeta(*view, S_IFDIR | (mode & 07777), caller, dir);
  kv::Batch batch;
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
  NodeInfo dir;
  if (!inodes_.Get(parent, &dir) || dir.detached) return ENOENT;
  if (dir.control != Control::kNone) return EACCES;
  if (parent == kRootNode && name == kControlDirName) return EEXIST;
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (options_.nometa) return EPERM;  // a symlink is a key plus its type in metadata
  if (target.size() > options_.max_value_size) return ENAMETOOLONG;
  if (int err = EnsureMeta(*view)) return err;
  std::shared_lock ns(namespace_mutex_);
  Child child;
  if (int err = ResolveChild(*view, dir, name, &child)) return err == ENOENT ? EINVAL : err;
  if (child.is_dir() || child.file_exists) return EEXIST;
  if (child.hashed || child.role != NameRole::kPlain) return EINVAL;
  Metadata meta = NewMeta(*view, S_IFLNK | 0777, caller, dir);
  kv::Batch batch;
  batch.ExpectAbsent(view->data, child.key);
  batch.Put(view->data, child.key, std::string(target));
  batch.Put(view->meta.load(), FileMetaKey(child.key), EncodeMetadata(meta));
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return EEXIST;
  if (!s.ok()) return Fail(s, "symlink", child.key);
  out->node = inodes_.Acquire(parent, NodeKind::kFile, child.component, 1);
  FillAttr(*view, NodeKind::kFile, child.key, target.size(), &meta, &out->attr);
  return 0;
}

int Filesystem::Link(NodeId node, NodeId new_parent, std::string_view new_name) {
  return EPERM;  // a key has one path: no hard links
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
  // An open descriptor keeps the file's attributes (fstat, fchmod).
  RememberDetached(*view, inodes_.Find(parent, NodeKind::kFile, child.component), child.key);
  kv::Batch batch;
  batch.ExpectPresent(view->data, child.key);
  batch.Delete(view->data, child.key);
  if (view->meta.load()) batch.Delete(view->meta.load(), FileMetaKey(child.key));
  KeepParentAlive(*view, dir.key, child.key, &batch);
  kv::Status s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return ENOENT;
  if (!s.ok()) return Fail(s, "unlink", child.key);
  inodes_.Detach(parent, NodeKind::kFile, child.component);
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
  KeepParentAlive(*view, dir.key, child.prefix, &batch);
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

  if (src.is_dir()) {
    // "x%@" names the value of key x, never a directory.
    if (dst.role != NameRole::kPlain) return EINVAL;
    if (dst.is_file() || (dst.role == NameRole::kPlain && dst.file_exists && !dst.dir_exists)) {
      return ENOTDIR;
    }
    if (dst.prefix == src.prefix) return 0;
    if (dst.prefix.compare(0, src.prefix.size(), src.prefix) == 0) return EINVAL;
    return RenameDirectory(*view, src_dir, src, dst_dir, dst);
  }

  // A file (or symlink).
  if (dst.is_dir()) return EISDIR;
  if (dst.key == src.key) return 0;
  // A rename changes the moved files' ctime, so each gets a record (a key
  // without one starts from the defaults it showed).
  if (!options_.nometa) {
    if (int err = EnsureMeta(*view)) return err;
  }
  kv::ColumnFamily* meta = view->meta.load();
  TimeNs now = NowNs();
  kv::Batch batch;
  if (flags & RENAME_EXCHANGE) {
    batch.Put(view->data, src.key, std::string(dst.value.view()));
    batch.Put(view->data, dst.key, std::string(src.value.view()));
    if (meta) {
      Metadata src_meta = FileMetaOrDefaults(*view, src.key);
      Metadata dst_meta = FileMetaOrDefaults(*view, dst.key);
      src_meta.ctime = dst_meta.ctime = now;
      batch.Put(meta, FileMetaKey(src.key), EncodeMetadata(dst_meta));
      batch.Put(meta, FileMetaKey(dst.key), EncodeMetadata(src_meta));
    }
  } else {
    if (dst.is_file()) {
      RememberDetached(*view, inodes_.Find(new_parent, NodeKind::kFile, dst.component), dst.key);
    }
    batch.Delete(view->data, src.key);
    batch.Put(view->data, dst.key, std::string(src.value.view()));
    if (meta) {
      Metadata src_meta = FileMetaOrDefaults(*view, src.key);
      src_meta.ctime = now;
      batch.Delete(meta, FileMetaKey(src.key));
      batch.Put(meta, FileMetaKey(dst.key), EncodeMetadata(src_meta));
    }
    if (src_dir.key != dst_dir.key) KeepParentAlive(*view, src_dir.key, src.key, &batch);
  }
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
  // Move every key of the subtree, and its metadata records.
  auto move_range = [&](kv::ColumnFamily* cf, const std::string& from, const std::string& to) {
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
    }
    return it->status();
  };
  kv::ColumnFamily* meta = view.meta.load();
  if (meta && dst.is_dir()) batch.Delete(meta, DirMetaKey(dst.prefix));
  kv::Status s = move_range(view.data, src.prefix, dst.prefix);
  if (s.ok() && meta) s = move_range(meta, DirMetaKey(src.prefix), DirMetaKey(dst.prefix));
  if (s.ok() && meta) s = move_range(meta, FileMetaKey(src.prefix), FileMetaKey(dst.prefix));
  if (!s.ok()) return Fail(s, "scan for rename", src.prefix);
  Metadata dir_meta;
  if (meta && LoadMeta(view, DirMetaKey(src.prefix), &dir_meta)) {
    dir_meta.ctime = NowNs();  // overrides the record moved above
    batch.Put(meta, DirMetaKey(dst.prefix), EncodeMetadata(dir_meta));
  }
  if (too_big()) {
    spdlog::info("rename of '{}' refused with EXDEV: more than {} keys or {} bytes", src.prefix,
                 options_.max_rename_keys, options_.max_rename_bytes);
    return EXDEV;
  }
  if (src_dir.key != dst_dir.key) KeepParentAlive(view, src_dir.key, src.prefix, &batch);
  s = view.store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (!s.ok()) return Fail(s, "rename", src.prefix);
  NodeId src_node = inodes_.Find(src_dir.id, NodeKind::kDirectory, src.component);
  inodes_.Detach(dst_dir.id, NodeKind::kDirectory, dst.component);
  if (src_node) inodes_.Move(src_node, dst_dir.id, dst.component);
  if (src.file_exists) ForgetValueName(src_dir.id, src_dir, src.component);
  return 0;
}

void Filesystem::ForgetValueName(NodeId parent, const NodeInfo& dir, std::string_view component) {
  // Key `component` was shown as "component%@" beside its directory; with
  // the directory gone it is plain "component" again, so the kernel must
  // forget the old name or the key would have two paths.
  if (!kernel_cache_) return;
  kernel_cache_->InvalidateEntry(parent,
                                 codec_.Encode(component, NameRole::kDirValue, dir.key.empty()));
}

}  // namespace rocksfs::fs
