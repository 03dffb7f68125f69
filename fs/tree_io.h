// Directory trees as record streams, for `rocksfs load` and `rocksfs dump`:
// the same key <-> path mapping as a mount (fs/path_codec.h), on an
// ordinary directory.
//
// TreeRecordSource walks a tree: every regular file is one record whose key
// is the file's path below the root, each component decoded with
// PathCodec::Decode and joined with the delimiter; its value is the file's
// contents. So a tree copied out of a mount (`cp -r MNT copy`) loads back
// into the same keys: `blue%{@}` is key `blue`, `%{}` the empty component,
// `x%{00}y` the key `x\0y`, `50%off` the key `50%off`. Symlinks, devices,
// sockets and FIFOs are passed over and counted (skipped()); empty
// directories give no key. Names that are not canonical (that a mount would
// never show, e.g. `%{41}`, or `x%{y}`: key `x%{y}` shows as `x%{25}{y}`),
// directory names ending in `%{@}`, and hashed long names
// (`...%{#HHHH...}`: the full component is not in the name) are errors that
// name the path. Entries are visited in bytewise name order.
//
// TreeRecordSink writes the reverse: one file per key, with the names a
// mount shows (a key that is also a directory gets the `NAME%{@}` file). It
// needs RecordSink::Write's has_children (DumpOptions::with_children).
// Components longer than 255 bytes get hashed names, which do not load back;
// hashed_names() counts them.
//
// Thread-safety: one thread at a time per object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fs/path_codec.h"
#include "kv/record_stream.h"
#include "kv/status.h"

namespace rocksfs::fs {

struct TreeSourceOptions {
  char delimiter = '/';
  // Walk the tree once first to sum file sizes, for total_bytes() (progress
  // percentages). Costs one extra stat per entry.
  bool count_total = false;
};

// Errors: kNotFound / kInvalidArgument (root is not a directory).
[[nodiscard]] kv::Status OpenTreeRecordSource(const std::string& root,
                                              const TreeSourceOptions& options,
                                              std::unique_ptr<kv::RecordSource>* source);

class TreeRecordSink : public kv::RecordSink {
 public:
  // Hashed names written so far (see above).
  virtual uint64_t hashed_names() const = 0;
};

// `dest` must not exist or be an empty directory; it is created. Errors:
// kInvalidArgument ("DEST is not empty"), kIOError.
[[nodiscard]] kv::Status OpenTreeRecordSink(const std::string& dest, char delimiter,
                                            std::unique_ptr<TreeRecordSink>* sink);

}  // namespace rocksfs::fs
