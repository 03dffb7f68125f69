// InodeTable: the nodeids the kernel holds, and the paths they stand for.
//
// rocksfs invents no inode schema in the DB: a node is (parent node, kind,
// key component), and its key is found by walking up to the root. A node
// lives while the kernel holds lookups on it (FUSE lookup/forget counting,
// as in libfuse's passthrough_hp.cc), while a file handle is open on it, or
// while a live child points at it. Rename moves a node without touching its
// descendants, so renaming a directory is O(1) here.
//
// Nodeids are never reused (64-bit counter), so the FUSE generation is 0.
//
// Thread-safety: every method is safe to call concurrently; one mutex
// guards the table. Node data is handed out as copies (NodeInfo).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fs/dir_positions.h"

namespace rocksfs::fs {

using NodeId = uint64_t;
inline constexpr NodeId kRootNode = 1;

enum class NodeKind : uint8_t {
  kFile,       // a key (regular file or symlink)
  kDirectory,  // a key prefix
};

// A view is one tree of keys the mount shows: the mounted column family
// (view 0), another column family, or a stored snapshot. Its root node's key
// is "" and every node below it belongs to it.
using ViewId = uint32_t;
inline constexpr ViewId kMainView = 0;

// The nodes of the control directory /.rocksfs, which hold no keys.
enum class Control : uint8_t {
  kNone,
  kRoot,       // /.rocksfs
  kSnapshots,  // /.rocksfs/snapshots
  kColumnFamilies,  // /.rocksfs/cf
  kStats,      // /.rocksfs/stats
};

// A copy of what the table knows about one node.
struct NodeInfo {
  NodeId id = 0;
  NodeId parent = 0;
  NodeKind kind = NodeKind::kFile;
  std::string component;  // raw key bytes of the last component
  // File key, or directory prefix with its trailing delimiter ("" for root).
  std::string key;
  ViewId view = kMainView;
  bool view_root = false;       // the root of its view (key "")
  Control control = Control::kNone;
  bool detached = false;        // unlinked, removed or replaced
};

class InodeTable {
 public:
  explicit InodeTable(char delimiter);

  // Finds or creates the node for (parent, kind, component) and adds
  // `lookups` to its lookup count. REQUIRES: parent is live.
  NodeId Acquire(NodeId parent, NodeKind kind, std::string_view component, uint64_t lookups);
  // Like Acquire, for nodes that are not keys of their parent's view: the
  // root of another view, or a control node. `view` and `control` apply
  // when the node is created.
  NodeId AcquireSpecial(NodeId parent, NodeKind kind, std::string_view component,
                        uint64_t lookups, ViewId view, bool view_root, Control control);
  // Finds an attached node without changing counts; 0 if none.
  NodeId Find(NodeId parent, NodeKind kind, std::string_view component) const;
  // Finds the attached node of file key `key` in the view that node
  // `anchor` belongs to, walking its components down from the view's root;
  // 0 if the kernel holds no node for it (or anchor is gone).
  NodeId FindKey(NodeId anchor, std::string_view key) const;
  // Drops `count` lookups; frees the node when nothing holds it.
  void Forget(NodeId id, uint64_t count);

  // Copies the node's state, with its key computed. False if unknown.
  bool Get(NodeId id, NodeInfo* out) const;

  // Counts an open file or directory handle (keeps the node alive while
  // open) and uncounts it.
  void OpenHandle(NodeId id);
  void CloseHandle(NodeId id);
  // The commit generation (Filesystem's counter) of the node's latest
  // commit, 0 if none: attributes read from the store before it are stale.
  // It also forgets the node's page version (below): the kernel's pages
  // now hold bytes this mount wrote, of no known version.
  void NoteCommit(NodeId id, uint64_t generation);
  uint64_t LastCommit(NodeId id) const;
  // The store's version (kv::Value::version) of the value whose pages the
  // kernel may cache for the node, 0 if unknown: sets `version` and returns
  // the one before (0 for an unknown node).
  uint64_t SwapPageVersion(NodeId id, uint64_t version);
  uint64_t PageVersion(NodeId id) const;
  // The directory offsets of node `id`, shared by all its handles and kept
  // as long as the node lives (the kernel's readdir cache may hold them that
  // long). Created on first use; nullptr if the node is unknown.
  std::shared_ptr<DirPositions> PositionsOf(NodeId id);

  // Moves a node to a new name (rename). A node already attached at the
  // destination must have been detached first.
  void Move(NodeId id, NodeId new_parent, std::string_view new_component);
  // Marks the node at (parent, kind, component), if any, as detached: it
  // keeps serving open handles but is no longer found by name.
  void Detach(NodeId parent, NodeKind kind, std::string_view component);
  void DetachNode(NodeId id);

  size_t size() const;
  // Every attached node of the main view that holds a key (not /.rocksfs,
  // not other views), with `key` left empty. For dropping every cached name.
  std::vector<NodeInfo> MainViewNodes() const;

 private:
  struct Node {
    NodeId id;
    NodeId parent;
    NodeKind kind;
    std::string component;
    uint64_t lookups = 0;
    uint32_t handles = 0;
    uint32_t children = 0;  // live nodes whose parent this is
    uint64_t last_commit = 0;
    uint64_t page_version = 0;
    std::shared_ptr<DirPositions> positions;  // directories that were listed
    bool detached = false;
    ViewId view = kMainView;
    bool view_root = false;
    Control control = Control::kNone;
  };
  struct IndexKey {
    NodeId parent;
    NodeKind kind;
    std::string component;
    Control control = Control::kNone;  // /.rocksfs never collides with a key
    bool operator==(const IndexKey&) const = default;
  };
  struct IndexHash {
    size_t operator()(const IndexKey& k) const;
  };

  NodeId AcquireLocked(NodeId parent, NodeKind kind, std::string_view component,
                       uint64_t lookups, const Node* special);
  void MaybeEraseLocked(Node* node);
  void ComputeKeyLocked(const Node* node, std::string* key) const;

  const char delimiter_;
  mutable std::mutex mutex_;
  NodeId next_id_ = kRootNode + 1;
  std::unordered_map<NodeId, std::unique_ptr<Node>> nodes_;
  std::unordered_map<IndexKey, NodeId, IndexHash> index_;
};

}  // namespace rocksfs::fs
