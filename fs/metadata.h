// Metadata: the POSIX attributes rocksfs keeps beside a key.
//
// The data column family holds the user's keys verbatim. Everything a key
// cannot say (mode, owner, times, symlink-ness, xattrs, empty directories)
// lives in a separate metadata column family, under these keys:
//   'f' + data key       a file or symlink
//   'd' + dir prefix     a directory (prefix = its key path + delimiter; the
//                        root is 'd' alone). Its presence keeps the directory
//                        alive when no data key lies under it.
// A key without a record gets the mount's defaults (see Defaults).
//
// Records are versioned and varint-encoded so that the common record costs
// about 20 bytes.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rocksfs::fs {

// Nanoseconds since the Unix epoch.
using TimeNs = int64_t;

TimeNs NowNs();

struct Metadata {
  mode_t mode = 0;   // file type bits and permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  TimeNs mtime = 0;
  TimeNs ctime = 0;
  TimeNs atime = 0;
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

}  // namespace rocksfs::fs
