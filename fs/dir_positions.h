// DirPositions: the directory offsets (d_off) of one directory, shared by
// every handle open on it.
//
// The kernel's readdir cache (FOPEN_CACHE_DIR) keeps the entries of a
// listing with the offsets one handle's READDIR replies gave them. When the
// cache is dropped while a reader is halfway through it (a name in the
// directory changed), the kernel resumes that reader with a READDIR on the
// reader's own handle at the offset of the last entry it returned, which
// another handle may have handed out. So an offset must mean the same place
// to every handle: each one names the key to Seek to for the entries after
// it, in key order, which stays a well-defined place however the names
// around it change (a listing resumed there lists no name twice and misses
// none that existed throughout).
//
// Offsets grow by one per entry handed out, from 3 ("." and ".." are 1 and
// 2). The newest kMaxPositions stay known; an older offset is forgotten.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

namespace rocksfs::fs {

class DirPositions {
 public:
  // The first offset Add hands out; offsets below it are "." and "..".
  static constexpr off_t kFirst = 3;
  // How many offsets stay known per directory (about 50 bytes each).
  static constexpr size_t kMaxPositions = size_t{1} << 20;

  // Records `key`, the data key to Seek to for the entries after the one
  // being handed out, and returns the offset that stands for it.
  off_t Add(std::string key);
  // Sets *key to the key recorded for `offset`. False when the offset was
  // never handed out or is forgotten.
  bool Find(off_t offset, std::string* key) const;

 private:
  mutable std::mutex mutex_;
  off_t base_ = kFirst;          // the offset of keys_.front()
  std::deque<std::string> keys_;  // offsets base_, base_ + 1, ...
};

}  // namespace rocksfs::fs
