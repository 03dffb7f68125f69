// PathCodec: the bijection between key components and directory entry names.
//
// A key is split on the delimiter byte into components; each component is
// shown as one name. Names are escaped so that every key has exactly one path
// and that path leads back to it, while the names people use stay as they
// are.
//
// Every escape begins with "%{" and ends with "}". These are the only ones;
// everything else in a name is literal, '%' included:
//   %{HH...}  one or more bytes, each as two UPPERCASE hex digits; a run of
//             escaped bytes is one group ("%{FFFE}", never "%{FF}%{FE}").
//             Produced for: NUL, '/', the delimiter, every byte of an invalid
//             UTF-8 sequence, a '%' followed by '{' (the one '%' that would
//             otherwise open an escape), and the first '.' of the components
//             "." and "..", and of ".rocksfs" when it is a first-level (root)
//             component.
//   %{}       the whole name: the empty component (keys "a//b", "/a", "a/").
//   %{@}      as a suffix: the value of a key that is also a directory: with
//             keys "blue" and "blue/x", the directory is "blue" and the value
//             of "blue" is the file "blue%{@}".
//   %{#H}     a suffix (before any "%{@}") on a component whose name would
//             exceed 255 bytes: the name is the longest escaped prefix that
//             fits (never splitting an escape or a UTF-8 character), then
//             "%{#", H = 16 uppercase hex digits of the component's 64-bit
//             FNV-1a hash (Fowler/Noll/Vo, IETF draft-eastlake-fnv), and "}".
//             The fs core resolves such a name by scanning for the component
//             it stands for.
// So "50%off.txt", "My%20File.pdf", "caf%C3%A9.txt", "a%2Bb" and "100%" are
// themselves; key "a/b" under delimiter ':' is "a%{2F}b"; key "x\xff" is
// "x%{FF}"; the component "%{" is "%{25}{".
//
// A name is canonical when Encode(Decode(name)) == name. Decode rejects names
// that are not canonical (e.g. "%{41}" for "A", lowercase "%{2f}", "%{FF}%{FE}"
// for "%{FFFE}", or a "%{" that opens no well-formed escape), so no key has
// two spellings.
//
// Thread-safety: immutable after construction; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rocksfs::fs {

// Longest directory entry name, in bytes (NAME_MAX).
inline constexpr size_t kNameMax = 255;
// The name of the control directory at the root of a mount.
inline constexpr std::string_view kControlDirName = ".rocksfs";

// Which file a name stands for.
enum class NameRole {
  kPlain,     // the key itself (a file) or the prefix (a directory)
  kDirValue,  // the value of a key that is also a directory ("blue%{@}")
};

struct DecodedName {
  NameRole role = NameRole::kPlain;
  // The component bytes; for a hashed name, only the prefix before "%{#".
  std::string component;
  bool hashed = false;      // true: a "%{#H}" name; resolve via `hash`
  uint64_t hash = 0;        // FNV-1a 64 of the full component when hashed
};

class PathCodec {
 public:
  // `delimiter` must not be '%' (REQUIRES; use IsValidDelimiter first).
  explicit PathCodec(char delimiter = '/');

  static bool IsValidDelimiter(char delimiter) { return delimiter != '%'; }
  char delimiter() const { return delimiter_; }

  // The name of `component` (bytes without the delimiter). `at_root`: the
  // component is the first of its key, where ".rocksfs" is reserved. The
  // result is at most kNameMax bytes and never empty.
  std::string Encode(std::string_view component, NameRole role, bool at_root) const;

  // Parses a name. Returns 0 and fills *out, or:
  //   ENAMETOOLONG  name longer than kNameMax
  //   EINVAL        not canonical, a malformed escape (any "%{" that does not
  //                 open one of the escapes above, e.g. the literal name
  //                 "%{x}", which is spelled "%{25}{x}"), or a component that
  //                 would hold the delimiter
  // For hashed names the canonical check is left to the caller, which
  // compares Encode(candidate) with the name once it has found the candidate;
  // Decode only rejects a hashed name whose prefix is too short to be the
  // longest that fits (e.g. "a%{#0123456789ABCDEF}"), since no key has it.
  [[nodiscard]] int Decode(std::string_view name, bool at_root, DecodedName* out) const;

  // True if `name`, a name Encode returned, is a hashed long name (one that
  // does not hold its whole component). Encode writes "%{#" only there.
  static bool IsHashed(std::string_view name);

  // FNV-1a 64 of `component`, as used in "%{#H}" names.
  static uint64_t Hash(std::string_view component);

 private:
  char delimiter_;
};

}  // namespace rocksfs::fs
