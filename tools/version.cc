#include "tools/version.h"

#include <rocksdb/version.h>

#ifndef ROCKSFS_VERSION
#error "ROCKSFS_VERSION must be defined by the build (project VERSION in CMakeLists.txt)"
#endif

namespace rocksfs::tools {

std::string_view RocksfsVersion() { return ROCKSFS_VERSION; }

std::string VersionText(std::string_view program, const std::vector<std::string>& more_lines) {
  std::string text(program);
  if (program != "rocksfs") text += " (rocksfs)";
  text += " " + std::string(RocksfsVersion()) + "\n";
  text += "RocksDB " + rocksdb::GetRocksVersionAsString() + "\n";
  for (const std::string& line : more_lines) text += line + "\n";
  return text;
}

}  // namespace rocksfs::tools
