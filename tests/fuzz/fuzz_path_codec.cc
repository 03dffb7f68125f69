// libFuzzer target for PathCodec (fs/path_codec.h): decodes arbitrary names
// and encodes arbitrary components, and checks the codec's invariants:
//   - Encode gives a name of 1..255 bytes without NUL or '/', which Decode
//     accepts and maps back to the same component
//     and role (hashed names: the same hash, and a prefix of the component),
//     and IsHashed tells hashed names apart;
//   - Decode either rejects a name (EINVAL / ENAMETOOLONG) or accepts it
//     as canonical: encoding what it decoded gives the name back.
// Input: byte 0 picks the delimiter, byte 1 the mode (bit 0: decode or
// encode, bit 1: role, bit 2: at the root); the rest is the name or the
// component. Run by tests/fuzz/run_fuzz.sh.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fs/path_codec.h"

using rocksfs::fs::DecodedName;
using rocksfs::fs::kNameMax;
using rocksfs::fs::NameRole;
using rocksfs::fs::PathCodec;

namespace {

[[noreturn]] void Violation(const char* what, std::string_view input, std::string_view name) {
  std::fprintf(stderr, "fuzz_path_codec: %s\n  input (%zu bytes):", what, input.size());
  for (unsigned char c : input) std::fprintf(stderr, " %02X", c);
  std::fprintf(stderr, "\n  name (%zu bytes):", name.size());
  for (unsigned char c : name) std::fprintf(stderr, " %02X", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  char delimiter = static_cast<char>(data[0]);
  if (!PathCodec::IsValidDelimiter(delimiter)) delimiter = '/';
  const uint8_t mode = data[1];
  const NameRole role = (mode & 2) ? NameRole::kDirValue : NameRole::kPlain;
  const bool at_root = (mode & 4) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const PathCodec codec(delimiter);

  if (mode & 1) {
    // Decode an arbitrary name.
    DecodedName decoded;
    int err = codec.Decode(input, at_root, &decoded);
    if (err != 0) {
      if (err != EINVAL && err != ENAMETOOLONG) Violation("Decode: unexpected errno", input, "");
      if (err == ENAMETOOLONG && input.size() <= kNameMax) {
        Violation("Decode: ENAMETOOLONG for a short name", input, "");
      }
      return 0;
    }
    if (input.size() > kNameMax) Violation("Decode accepted a name over 255 bytes", input, "");
    if (decoded.component.find(delimiter) != std::string::npos) {
      Violation("Decode gave a component holding the delimiter", input, decoded.component);
    }
    if (!decoded.hashed && codec.Encode(decoded.component, decoded.role, at_root) != input) {
      Violation("Decode accepted a name that is not canonical", input,
                codec.Encode(decoded.component, decoded.role, at_root));
    }
    return 0;
  }

  // Encode an arbitrary component (it cannot hold the delimiter).
  if (input.find(delimiter) != std::string_view::npos) return 0;
  const std::string name = codec.Encode(input, role, at_root);
  if (name.empty() || name.size() > kNameMax) Violation("Encode: bad length", input, name);
  // (The delimiter may appear inside an escape: "%{FE}" under delimiter 'E'
  // or '{'.)
  if (name.find('\0') != std::string::npos || name.find('/') != std::string::npos) {
    Violation("Encode: NUL or '/' in a name", input, name);
  }
  if (name == "." || name == "..") Violation("Encode gave . or ..", input, name);
  DecodedName decoded;
  if (int err = codec.Decode(name, at_root, &decoded); err != 0) {
    Violation("Decode rejected a name Encode made", input, name);
  }
  if (decoded.role != role) Violation("the role did not round-trip", input, name);
  if (decoded.hashed != PathCodec::IsHashed(name)) Violation("IsHashed is wrong", input, name);
  if (decoded.hashed) {
    if (decoded.hash != PathCodec::Hash(input)) Violation("hashed name: wrong hash", input, name);
    if (input.substr(0, decoded.component.size()) != decoded.component) {
      Violation("hashed name: the prefix is not the component's", input, name);
    }
  } else if (decoded.component != input) {
    Violation("the component did not round-trip", input, name);
  }
  return 0;
}
