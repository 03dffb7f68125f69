// Metadata: the POSIX attributes rocksfs keeps beside a key.
//
// The data column family holds the user's keys verbatim. Everything a key
// cannot say (mode, owner, times, symlink-ness, xattrs, empty directories)
// lives in a separate metadata column family, under these keys:
//   'f' + data key       a file or symlink
//   'd' + dir prefix     a directory (prefix = its key path + delimiter; the
//                        root is 'd' alone). Its presence keeps the directory
//                        alive when no data key lies under it.
//   kInoCounterKey       the inode numbers handed out so far (see AllocateIno
//                        in fs/namespace_ops.cc); no data key maps to it.
// A key without a record gets the mount's defaults (see Defaults).
//
// Records are versioned and varint-encoded so that the common record costs
// about 20 bytes. Version 2 adds ino, rdev and links, each present only when
// set (one flags byte); version 1 records still decode (ino 0, no links).
//
// Thread-safety: value types and pure functions.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksfs::fs {

// Nanoseconds since the Unix epoch.
using TimeNs = int64_t;

TimeNs NowNs();

// Inode numbers: a key without a stored ino shows a hash of its path, whose
// top bit is 0; numbers handed out to files made through the mount have it
// set, so the two kinds never collide.
inline constexpr uint64_t kAllocatedInoBit = 1ull << 63;

struct Metadata {
  mode_t mode = 0;   // file type bits and permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  TimeNs mtime = 0;
  TimeNs ctime = 0;
  TimeNs atime = 0;
  uint64_t ino = 0;  // st_ino; 0: none stored (the key's hash is shown)
  dev_t rdev = 0;    // device number of a character or block device
  // The data keys of the key's hard-link group, sorted, itself included;
  // empty for a key with one name. Every name holds the same record.
  std::vector<std::string> links;
  std::map<std::string, std::string> xattrs;  // full names ("user.x") -> values
};

// The attributes shown for keys that no record describes.
struct Defaults {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t file_mode = 0644;  // permission bits only
  mode_t dir_mode = 0755;
  TimeNs time = 0;          // stable across remounts (the DB's creation time)
};

std::string EncodeMetadata(const Metadata& meta);
// Returns false on a malformed record (the caller logs it and uses defaults).
[[nodiscard]] bool DecodeMetadata(std::string_view bytes, Metadata* meta);

std::string FileMetaKey(std::string_view data_key);
std::string DirMetaKey(std::string_view dir_prefix);

// The key of a metadata column family's ino counter: its value is the
// decimal number of the first ino (low 63 bits) not yet reserved.
inline constexpr std::string_view kInoCounterKey = "#next-ino";

}  // namespace rocksfs::fs
