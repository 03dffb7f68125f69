// libFuzzer target for the mount.rocksfs command line (ParseMountArgs in
// fs/mount_options.h): the input, split on NUL bytes, is argv after the
// program name. Whatever it holds, parsing must return (no crash, no hang,
// no exception), and a failure must come with a message of exactly one
// line, as mount.rocksfs prints it (SPEC section 6). Run by
// tests/fuzz/run_fuzz.sh.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fs/mount_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::vector<std::string> args = {"mount.rocksfs"};
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  args.push_back(current);
  if (args.size() > 64) return 0;
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);

  rocksfs::fs::MountOptions options;
  std::string error;
  bool help = false;
  int rc = rocksfs::fs::ParseMountArgs(static_cast<int>(args.size()), argv.data(), &options,
                                       &error, &help);
  if (help) return 0;  // the usage text spans lines by design
  if (rc != 0) {
    if (error.empty() || error.find('\n') != std::string::npos ||
        error.find('\r') != std::string::npos) {
      std::fprintf(stderr, "fuzz_mount_options: status %d with a message that is not one line: "
                   "'%s'\n", rc, error.c_str());
      std::abort();
    }
  } else if (options.db_path.empty() || options.mountpoint.empty()) {
    std::fprintf(stderr, "fuzz_mount_options: accepted without DB_PATH or MOUNTPOINT\n");
    std::abort();
  }
  return 0;
}
