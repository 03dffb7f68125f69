#include "kv/db_lock.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace rocksfs::kv {

namespace {

// Decodes the \ooo escapes of /proc/mounts fields.
std::string UnescapeMountField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string_view code = field.substr(i + 1, 3);
      if (code.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(static_cast<char>((code[0] - '0') * 64 + (code[1] - '0') * 8 + (code[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

std::string CanonicalPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) return resolved;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

std::string FindRocksfsMountIn(std::string_view mounts_text, const std::string& db_path) {
  size_t start = 0;
  while (start < mounts_text.size()) {
    size_t end = mounts_text.find('\n', start);
    if (end == std::string_view::npos) end = mounts_text.size();
    std::istringstream line{std::string(mounts_text.substr(start, end - start))};
    start = end + 1;
    std::string source, target, type;
    if (!(line >> source >> target >> type)) continue;
    if (type != "fuse.rocksfs") continue;
    if (UnescapeMountField(source) == db_path) return UnescapeMountField(target);
  }
  return "";
}

std::string FindRocksfsMount(const std::string& db_path) {
  std::ifstream file("/proc/mounts");
  std::stringstream text;
  text << file.rdbuf();
  return FindRocksfsMountIn(text.str(), db_path);
}

bool IsDatabaseLocked(const std::string& db_path) {
  const std::string lock_file = db_path + "/LOCK";
  const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;
  const bool locked = ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

}  // namespace rocksfs::kv
