// The text that `mount.rocksfs --version` and `rocksfs --version` print.
//
// The rocksfs version is set in one place, project(... VERSION ...) in the
// top-level CMakeLists.txt, which passes it to version.cc as ROCKSFS_VERSION.
// The RocksDB version is the one of the library the process runs with, asked
// at run time (it may differ from the headers the binary was built with).
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rocksfs::tools {

// The rocksfs version, e.g. "0.1.0".
std::string_view RocksfsVersion();

// "PROGRAM (rocksfs) X.Y.Z\nRocksDB A.B.C\n" followed by each of
// `more_lines` and a newline; for `program` == "rocksfs" the first line is
// "rocksfs X.Y.Z". The first line follows the GNU --version convention, which
// help2man reads for the manual pages' headers.
std::string VersionText(std::string_view program, const std::vector<std::string>& more_lines = {});

}  // namespace rocksfs::tools
