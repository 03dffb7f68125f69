#include "fs/dir_positions.h"

namespace rocksfs::fs {

off_t DirPositions::Add(std::string key) {
  std::lock_guard lock(mutex_);
  keys_.push_back(std::move(key));
  if (keys_.size() > kMaxPositions) {
    keys_.pop_front();
    ++base_;
  }
  return base_ + static_cast<off_t>(keys_.size()) - 1;
}

bool DirPositions::Find(off_t offset, std::string* key) const {
  std::lock_guard lock(mutex_);
  if (offset < base_ || offset - base_ >= static_cast<off_t>(keys_.size())) return false;
  *key = keys_[static_cast<size_t>(offset - base_)];
  return true;
}

}  // namespace rocksfs::fs
