#include "fs/inode_table.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace rocksfs::fs {

size_t InodeTable::IndexHash::operator()(const IndexKey& k) const {
  size_t h = std::hash<std::string>()(k.component);
  h ^= std::hash<uint64_t>()(k.parent) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h ^ static_cast<size_t>(k.kind) ^ (static_cast<size_t>(k.control) << 8);
}

InodeTable::InodeTable(char delimiter) : delimiter_(delimiter) {
  auto root = std::make_unique<Node>();
  root->id = kRootNode;
  root->parent = 0;
  root->kind = NodeKind::kDirectory;
  root->lookups = 1;  // the kernel never forgets the root
  nodes_.emplace(kRootNode, std::move(root));
}

NodeId InodeTable::Acquire(NodeId parent, NodeKind kind, std::string_view component,
                           uint64_t lookups) {
  std::lock_guard lock(mutex_);
  return AcquireLocked(parent, kind, component, lookups, nullptr);
}

NodeId InodeTable::AcquireSpecial(NodeId parent, NodeKind kind, std::string_view component,
                                  uint64_t lookups, ViewId view, bool view_root,
                                  Control control) {
  std::lock_guard lock(mutex_);
  Node special;
  special.view = view;
  special.view_root = view_root;
  special.control = control;
  return AcquireLocked(parent, kind, component, lookups, &special);
}

NodeId InodeTable::AcquireLocked(NodeId parent, NodeKind kind, std::string_view component,
                                 uint64_t lookups, const Node* special) {
  IndexKey key{parent, kind, std::string(component),
               special ? special->control : Control::kNone};
  if (auto it = index_.find(key); it != index_.end()) {
    Node* node = nodes_.at(it->second).get();
    node->lookups += lookups;
    return node->id;
  }
  auto node = std::make_unique<Node>();
  node->id = next_id_++;
  node->parent = parent;
  node->kind = kind;
  node->component = std::string(component);
  node->lookups = lookups;
  NodeId id = node->id;
  if (auto p = nodes_.find(parent); p != nodes_.end()) {
    p->second->children++;
    node->view = p->second->view;
  }
  if (special) {
    node->view = special->view;
    node->view_root = special->view_root;
    node->control = special->control;
  }
  index_.emplace(std::move(key), id);
  nodes_.emplace(id, std::move(node));
  return id;
}

NodeId InodeTable::Find(NodeId parent, NodeKind kind, std::string_view component) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(IndexKey{parent, kind, std::string(component)});
  return it == index_.end() ? 0 : it->second;
}

NodeId InodeTable::FindKey(NodeId anchor, std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(anchor);
  const Node* node = it == nodes_.end() ? nullptr : it->second.get();
  // Up to the view's root (where ComputeKeyLocked stops)...
  while (node && node->id != kRootNode && !node->view_root && node->control == Control::kNone) {
    auto p = nodes_.find(node->parent);
    node = p == nodes_.end() ? nullptr : p->second.get();
  }
  if (!node) return 0;
  // ...then down the key's components.
  NodeId id = node->id;
  while (true) {
    size_t end = key.find(delimiter_);
    NodeKind kind = end == std::string_view::npos ? NodeKind::kFile : NodeKind::kDirectory;
    auto found = index_.find(IndexKey{id, kind, std::string(key.substr(0, end))});
    if (found == index_.end()) return 0;
    id = found->second;
    if (kind == NodeKind::kFile) return id;
    key.remove_prefix(end + 1);
  }
}

void InodeTable::Forget(NodeId id, uint64_t count) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || id == kRootNode) return;
  Node* node = it->second.get();
  node->lookups -= std::min(count, node->lookups);
  MaybeEraseLocked(node);
}

void InodeTable::MaybeEraseLocked(Node* node) {
  // Erasing a node may free its parent in turn.
  while (node && node->id != kRootNode && node->lookups == 0 && node->handles == 0 &&
         node->children == 0) {
    if (!node->detached) {
      index_.erase(IndexKey{node->parent, node->kind, node->component, node->control});
    }
    NodeId parent_id = node->parent;
    nodes_.erase(node->id);
    auto p = nodes_.find(parent_id);
    if (p == nodes_.end()) return;
    node = p->second.get();
    node->children--;
  }
}

void InodeTable::ComputeKeyLocked(const Node* node, std::string* key) const {
  std::vector<const Node*> chain;
  for (const Node* n = node; n && n->id != kRootNode && !n->view_root && n->control == Control::kNone;) {
    chain.push_back(n);
    auto p = nodes_.find(n->parent);
    n = p == nodes_.end() ? nullptr : p->second.get();
  }
  key->clear();
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    key->append((*it)->component);
    if ((*it)->kind == NodeKind::kDirectory) key->push_back(delimiter_);
  }
}

bool InodeTable::Get(NodeId id, NodeInfo* out) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return false;
  const Node* node = it->second.get();
  out->id = node->id;
  out->parent = node->parent;
  out->kind = node->kind;
  out->component = node->component;
  out->view = node->view;
  out->view_root = node->view_root;
  out->control = node->control;
  out->detached = node->detached;
  ComputeKeyLocked(node, &out->key);
  return true;
}

void InodeTable::OpenHandle(NodeId id) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it != nodes_.end()) it->second->handles++;
}

void InodeTable::NoteCommit(NodeId id, uint64_t generation) {
  std::lock_guard lock(mutex_);
  if (auto it = nodes_.find(id); it != nodes_.end()) {
    it->second->last_commit = generation;
    it->second->page_version = 0;
  }
}

uint64_t InodeTable::SwapPageVersion(NodeId id, uint64_t version) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return 0;
  return std::exchange(it->second->page_version, version);
}

std::shared_ptr<DirPositions> InodeTable::PositionsOf(NodeId id) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return nullptr;
  auto& positions = it->second->positions;
  if (!positions) positions = std::make_shared<DirPositions>();
  return positions;
}

uint64_t InodeTable::LastCommit(NodeId id) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  return it == nodes_.end() ? 0 : it->second->last_commit;
}

void InodeTable::CloseHandle(NodeId id) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  Node* node = it->second.get();
  if (node->handles > 0) node->handles--;
  MaybeEraseLocked(node);
}

void InodeTable::Move(NodeId id, NodeId new_parent, std::string_view new_component) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  Node* node = it->second.get();
  if (!node->detached) index_.erase(IndexKey{node->parent, node->kind, node->component});
  if (node->parent != new_parent) {
    if (auto p = nodes_.find(new_parent); p != nodes_.end()) p->second->children++;
    if (auto p = nodes_.find(node->parent); p != nodes_.end()) {
      p->second->children--;
      MaybeEraseLocked(p->second.get());
    }
    node->parent = new_parent;
  }
  node->component = std::string(new_component);
  node->detached = false;
  index_[IndexKey{node->parent, node->kind, node->component}] = id;
}

void InodeTable::Detach(NodeId parent, NodeKind kind, std::string_view component) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(IndexKey{parent, kind, std::string(component)});
  if (it == index_.end()) return;
  nodes_.at(it->second)->detached = true;
  index_.erase(it);
}

void InodeTable::DetachNode(NodeId id) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second->detached) return;
  Node* node = it->second.get();
  index_.erase(IndexKey{node->parent, node->kind, node->component});
  node->detached = true;
}

size_t InodeTable::size() const {
  std::lock_guard lock(mutex_);
  return nodes_.size();
}

uint64_t InodeTable::PageVersion(NodeId id) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(id);
  return it == nodes_.end() ? 0 : it->second->page_version;
}

std::vector<NodeInfo> InodeTable::MainViewNodes() const {
  std::lock_guard lock(mutex_);
  std::vector<NodeInfo> out;
  for (const auto& [id, node] : nodes_) {
    if (node->detached || node->view != kMainView || node->control != Control::kNone) continue;
    NodeInfo info;
    info.id = id;
    info.parent = node->parent;
    info.kind = node->kind;
    info.component = node->component;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace rocksfs::fs
