#include "fs/counters.h"

namespace rocksfs::fs {

std::string_view OpName(Op op) {
  static constexpr std::string_view kNames[] = {
      "lookup",  "forget",  "getattr",    "setattr",     "readlink", "mknod",    "mkdir",
      "unlink",  "rmdir",   "symlink",    "rename",      "link",     "open",     "read",
      "write",   "statfs",  "release",    "fsync",       "setxattr", "getxattr", "listxattr",
      "removexattr", "flush", "opendir",  "readdir",     "readdirplus", "releasedir",
      "fsyncdir", "access", "create"};
  static_assert(std::size(kNames) == static_cast<size_t>(Op::kCount));
  return kNames[static_cast<size_t>(op)];
}

std::string Counters::ToText() const {
  std::string out;
  uint64_t total = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    uint64_t n = requests[i].load(std::memory_order_relaxed);
    total += n;
    out += "requests.";
    out += OpName(static_cast<Op>(i));
    out += ' ' + std::to_string(n) + '\n';
  }
  out += "requests.total " + std::to_string(total) + '\n';
  out += "bytes_read " + std::to_string(bytes_read.load()) + '\n';
  out += "bytes_written " + std::to_string(bytes_written.load()) + '\n';
  out += "commits " + std::to_string(commits.load()) + '\n';
  out += "batches " + std::to_string(batches.load()) + '\n';
  out += "errors " + std::to_string(errors.load()) + '\n';
  return out;
}

}  // namespace rocksfs::fs
