// Filesystem: hard links.
//
// A hard link is a second key holding the same value (SPEC section 3), so
// that every other reader of the database sees a plain value under each
// name. The names of one group hold equal records too: mode, owner, times,
// st_ino, xattrs, and `links`, the sorted list of every name. Whatever
// writes one name (a commit, a truncate, chmod, an xattr) writes all of
// them in the same batch: a write to a group of N names costs N Puts.
//
// Each name has its own node in the InodeTable (nodes stand for paths);
// they share st_ino. After a write through one name the kernel's cached
// attributes and pages of the others are dropped.
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {

std::vector<std::string> NamesOf(std::string_view key, const Metadata& meta) {
  if (meta.links.empty()) return {std::string(key)};
  return meta.links;
}

void Filesystem::PutMetaForAllNames(View& view, std::string_view key, const Metadata& meta,
                                    kv::Batch* batch) {
  std::string record = EncodeMetadata(meta);
  for (const std::string& name : NamesOf(key, meta)) {
    batch->Put(view.meta.load(), FileMetaKey(name), record);
  }
}

size_t Filesystem::PutValueForAllNames(View& view, std::string_view key, const Metadata* meta,
                                       std::string value, kv::Batch* batch) {
  std::vector<std::string> names = meta ? NamesOf(key, *meta) : std::vector{std::string(key)};
  for (size_t i = 0; i + 1 < names.size(); ++i) batch->Put(view.data, names[i], value);
  size_t index = batch->ops().size();
  batch->Put(view.data, std::move(names.back()), std::move(value));
  if (meta) PutMetaForAllNames(view, key, *meta, batch);
  return index;
}

void Filesystem::LeaveGroup(View& view, std::string_view key, const Metadata& meta, TimeNs now,
                            kv::Batch* batch) {
  if (meta.links.empty()) return;
  Metadata rest = meta;
  rest.links.erase(std::remove(rest.links.begin(), rest.links.end(), key), rest.links.end());
  if (rest.links.empty()) return;
  std::string first = rest.links.front();
  if (rest.links.size() == 1) rest.links.clear();  // one name left: a plain file again
  rest.ctime = now;                                 // its link count changed
  PutMetaForAllNames(view, first, rest, batch);
}

void Filesystem::OtherNamesChanged(NodeId anchor, std::string_view key, const Metadata& meta,
                                   const std::string* value) {
  for (const std::string& name : meta.links) {
    if (name == key) continue;
    NodeId other = inodes_.FindKey(anchor, name);
    if (other == 0) continue;
    if (value) {
      inodes_.NoteCommit(other, commit_generation());  // see FreshSize
      // Its descriptors see the committed bytes, unless they hold
      // uncommitted bytes of their own (their commit then wins).
      if (std::shared_ptr<OpenFile> file = FindOpenFile(other)) {
        std::unique_lock lock(file->mutex);
        if (file->loaded && !file->dirty) {
          file->data = *value;
          file->value = kv::Value();
          file->changed = true;
        }
      }
    }
    if (kernel_cache_) kernel_cache_->InvalidateInode(other);
  }
}

int Filesystem::Link(NodeId node, NodeId new_parent, std::string_view new_name, Entry* out) {
  *out = {};
  NodeInfo info, dir;
  if (!inodes_.Get(node, &info) || !inodes_.Get(new_parent, &dir) || dir.detached) {
    return ENOENT;
  }
  if (info.control != Control::kNone) return EPERM;
  if (dir.control != Control::kNone) return EACCES;
  if (new_parent == kRootNode && new_name == kControlDirName) return EEXIST;
  if (info.kind == NodeKind::kDirectory) return EPERM;
  if (info.view != dir.view) return EXDEV;  // another column family or snapshot
  auto view = ViewOf(dir);
  if (!view) return ENOENT;
  if (int err = CheckWritable(*view)) return err;
  if (options_.nometa) return EPERM;  // the group lives in the records
  if (int err = EnsureMeta(*view)) return err;
  std::unique_lock ns(namespace_mutex_);
  // Under the lock: the node's key as of now (a rename may have moved it).
  if (!inodes_.Get(node, &info) || info.detached) return ENOENT;
  Child child;
  if (int err = ResolveChild(*view, dir, new_name, &child)) return err == ENOENT ? EINVAL : err;
  if (child.is_dir() || child.file_exists) return EEXIST;
  if (child.hashed || child.role != NameRole::kPlain) return EINVAL;
  kv::Value value;
  kv::Status s = view->store->Get({}, view->data, info.key, &value);
  if (!s.ok()) return s.IsNotFound() ? ENOENT : Fail(s, "read", info.key);

  // The group keeps the st_ino the file shows now.
  Metadata meta = FileMetaOrDefaults(*view, info.key);
  if (meta.ino == 0) meta.ino = StableIno(NodeKind::kFile, info.key);
  std::vector<std::string> names = NamesOf(info.key, meta);
  names.push_back(child.key);
  std::sort(names.begin(), names.end());
  meta.links = std::move(names);
  TimeNs now = NowNs();
  meta.ctime = now;
  kv::Batch batch;
  batch.ExpectPresent(view->data, info.key);
  batch.ExpectAbsent(view->data, child.key);
  batch.Put(view->data, child.key, std::string(value.view()));
  PutMetaForAllNames(*view, child.key, meta, &batch);
  TouchDirectory(*view, dir.key, now, &batch);
  s = view->store->Write({options_.sync}, batch);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (s.IsConditionFailed()) return EEXIST;
  if (!s.ok()) return Fail(s, "link", child.key);
  out->node = inodes_.Acquire(new_parent, NodeKind::kFile, child.component, 1);
  FillAttr(*view, NodeKind::kFile, child.key, value.size(), &meta, &out->attr);
  ns.unlock();
  // Every other name's st_nlink and ctime changed.
  OtherNamesChanged(node, child.key, meta);
  return 0;
}

}  // namespace rocksfs::fs
