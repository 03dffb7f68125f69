// Filesystem: directory listing.
//
// A directory with prefix P lists the distinct first components of the keys
// under P, merged with the directory markers under 'd' + P in the metadata
// column family. After a subdirectory c is emitted, the scan jumps past the
// whole subtree P + c + delimiter (Iterator::SkipTo), so a listing costs time
// in the number of children, not in the number of keys below them. Each
// entry's offset stands for the key to Seek to for the entries after it
// (DirPositions, shared by every handle of the directory), so a listing
// resumes at any offset, through any handle, without holding the directory
// in memory.
#include <spdlog/spdlog.h>

#include <cerrno>

#include "fs/filesystem.h"
#include "fs/filesystem_internal.h"

namespace rocksfs::fs {
namespace {

struct Candidate {
  bool valid = false;
  bool is_dir = false;
  std::string position;   // file: its key; directory: P + c + delimiter
  std::string component;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

int Filesystem::OpenDir(NodeId node, uint64_t* fh, bool* cache_listing) {
  NodeInfo info;
  if (!inodes_.Get(node, &info)) return ENOENT;
  if (info.kind != NodeKind::kDirectory) return ENOTDIR;
  auto handle = std::make_unique<DirHandle>();
  handle->node = node;
  if (info.control == Control::kNone) {
    handle->view = ViewOf(info);
    if (!handle->view) return ENOENT;
    handle->positions = inodes_.PositionsOf(node);
    if (!handle->positions) return ENOENT;
  }
  if (cache_listing) {
    // Under nometa a directory that held only keys vanishes from its
    // parent's listing with its last key, which the kernel cannot see.
    *cache_listing = info.control == Control::kNone && !options_.secondary &&
                     !options_.expiring_keys && !options_.nometa;
  }
  inodes_.OpenHandle(node);
  *fh = ToFh(handle.release());
  return 0;
}

void Filesystem::ReleaseDir(uint64_t fh) {
  DirHandle* handle = DirHandleFrom(fh);
  if (!handle) return;
  inodes_.CloseHandle(handle->node);
  delete handle;
}

int Filesystem::ReadDir(NodeId node, uint64_t fh, off_t offset, bool plus,
                        const DirFiller& fill) {
  DirHandle* handle = DirHandleFrom(fh);
  if (!handle) return EBADF;
  std::lock_guard lock(handle->mutex);
  NodeInfo dir;
  if (!inodes_.Get(handle->node, &dir)) return ENOENT;
  if (dir.control != Control::kNone) return ControlReadDir(dir, handle, offset, plus, fill);
  return ReadDirView(*handle->view, handle, dir, offset, plus, fill);
}

int Filesystem::ReadDirView(View& view, DirHandle* handle, const NodeInfo& dir, off_t offset,
                            bool plus, const DirFiller& fill) {
  const std::string& prefix = dir.key;
  const bool at_root = prefix.empty();
  const char delim = options_.delimiter;

  // "." and ".." first (offsets 1 and 2).
  off_t off = offset;
  for (const char* dot : {".", ".."}) {
    off_t next = off + 1;
    if (off >= (dot[1] ? 2 : 1)) continue;
    DirEntry entry;
    entry.name = dot;
    Metadata meta;
    bool has_meta = (plus || !dot[1]) && LoadMeta(view, DirMetaKey(prefix), &meta);
    FillAttr(view, NodeKind::kDirectory, prefix, 0, has_meta ? &meta : nullptr, &entry.attr);
    if (!plus) {
      struct stat brief {};
      brief.st_mode = S_IFDIR;
      brief.st_ino = dot[1] ? 0 : entry.attr.st_ino;
      entry.attr = brief;
    }
    if (!fill(entry, next)) return 0;
    off = next;
  }

  std::string target = prefix;
  if (off > 2 && !handle->positions->Find(off, &target)) {
    // Never handed out, or forgotten (DirPositions::kMaxPositions later):
    // no place to resume at.
    spdlog::warn("readdir of '{}' at unknown offset {}: listing ends there", prefix, off);
    return 0;
  }

  kv::ScanOptions scan;
  scan.lower_bound = prefix;
  scan.upper_bound = kv::PrefixSuccessor(prefix);
  uint64_t generation = commit_generation();  // the iterator's sizes are of this moment
  auto data = view.store->NewIterator(view.data, scan);
  data->Seek(target);

  kv::ColumnFamily* meta_cf = view.meta.load();
  std::unique_ptr<kv::Iterator> markers;
  const std::string marker_prefix = DirMetaKey(prefix);
  if (meta_cf) {
    kv::ScanOptions meta_scan;
    meta_scan.lower_bound = marker_prefix + '\0';  // not the directory's own marker
    meta_scan.upper_bound = kv::PrefixSuccessor(marker_prefix);
    markers = view.store->NewIterator(meta_cf, meta_scan);
    markers->Seek(DirMetaKey(target));
  }

  auto data_candidate = [&]() {
    Candidate c;
    if (!data->Valid()) return c;
    std::string_view key = data->key();
    std::string_view rest = key.substr(prefix.size());
    size_t end = rest.find(delim);
    c.valid = true;
    c.is_dir = end != std::string_view::npos;
    c.component.assign(rest.substr(0, c.is_dir ? end : rest.size()));
    c.position = c.is_dir ? prefix + c.component + delim : std::string(key);
    return c;
  };
  auto marker_candidate = [&]() {
    Candidate c;
    if (!markers || !markers->Valid()) return c;
    std::string_view rest = markers->key().substr(marker_prefix.size());
    size_t end = rest.find(delim);
    if (end == std::string_view::npos) return c;  // malformed: not a directory marker
    c.valid = true;
    c.is_dir = true;
    c.component.assign(rest.substr(0, end));
    c.position = prefix + c.component + delim;
    return c;
  };

  while (true) {
    Candidate from_data = data_candidate();
    Candidate from_marker = marker_candidate();
    if (!from_data.valid && !from_marker.valid) {
      if (markers && markers->Valid()) {
        markers->Next();  // skip a malformed marker
        continue;
      }
      break;
    }
    // The smallest position wins; equal positions are one directory.
    const std::string* least = nullptr;
    for (const Candidate* c : {&from_data, &from_marker}) {
      if (c->valid && (!least || c->position < *least)) least = &c->position;
    }
    bool take_data = from_data.valid && from_data.position == *least;
    bool take_marker = from_marker.valid && from_marker.position == *least;
    Candidate c = take_data ? from_data : from_marker;

    DirEntry entry;
    std::string resume;
    uint64_t value_size = 0;
    if (c.is_dir) {
      entry.name = codec_.Encode(c.component, NameRole::kPlain, at_root);
      resume = kv::PrefixSuccessor(c.position);
      if (take_data) data->SkipTo(resume);
      if (take_marker) markers->SkipTo(DirMetaKey(resume));
    } else {
      // A file. If a directory of the same component exists too, the file
      // shows as its value name ("c%{@}").
      value_size = data->value().size();
      std::string dir_prefix = c.position + delim;
      data->Next();
      bool has_dir = false;
      if (data->Valid() && data->key() < dir_prefix) {
        kv::Status s;
        has_dir = DirExists(view, dir_prefix, &s);
      } else if (data->Valid() && StartsWith(data->key(), dir_prefix)) {
        has_dir = true;
      } else {
        has_dir = DirHasMarkerBelow(view, dir_prefix);
      }
      entry.name = codec_.Encode(c.component, has_dir ? NameRole::kDirValue : NameRole::kPlain,
                                 at_root);
      resume = c.position + '\0';
    }
    NodeKind kind = c.is_dir ? NodeKind::kDirectory : NodeKind::kFile;
    // The record, for st_ino and the type (a directory's too: its st_ino
    // may be stored).
    Metadata meta;
    bool has_meta =
        LoadMeta(view, c.is_dir ? DirMetaKey(c.position) : FileMetaKey(c.position), &meta);
    FillAttr(view, kind, c.position, value_size, has_meta ? &meta : nullptr, &entry.attr);
    if (plus) {
      entry.node = inodes_.Acquire(handle->node, kind, c.component, 1);
      if (kind == NodeKind::kFile && !ApplyOpenFile(entry.node, &entry.attr)) {
        FreshSize(view, entry.node, c.position, generation, &entry.attr);
      }
    }
    if (!fill(entry, handle->positions->Add(std::move(resume)))) {
      if (plus) inodes_.Forget(entry.node, 1);
      break;
    }
  }
  kv::Status s = data->status();
  if (s.ok() && markers) s = markers->status();
  if (!s.ok()) return Fail(s, "list", prefix);
  return 0;
}

}  // namespace rocksfs::fs
