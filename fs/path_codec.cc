#include "fs/path_codec.h"

#include <algorithm>
#include <cerrno>

namespace rocksfs::fs {
namespace {

constexpr std::string_view kEscapeOpen = "%{";
constexpr char kEscapeClose = '}';
constexpr std::string_view kEmptyMarker = "%{}";
constexpr std::string_view kDirValueSuffix = "%{@}";
constexpr std::string_view kHashOpen = "%{#";
constexpr size_t kHashDigits = 16;
// "%{#", the hash digits, "}".
constexpr size_t kHashedTailSize = kHashOpen.size() + kHashDigits + 1;
// The most one unit (a UTF-8 character or an escaped byte) can add to a
// hashed prefix: "%{HH}", an escaped byte after a literal.
constexpr size_t kLongestUnit = 5;
constexpr char kHexDigits[] = "0123456789ABCDEF";

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

bool IsUpperHex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

// Length of the strictly valid UTF-8 character starting at s[i] (no
// overlongs, no surrogates, nothing above U+10FFFF), or 0 if there is none.
size_t Utf8CharLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3;
    second_min = 0xA0;  // overlong below
  } else if (lead == 0xED) {
    length = 3;
    second_max = 0x9F;  // surrogates above
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    length = 3;
  } else if (lead == 0xF0) {
    length = 4;
    second_min = 0x90;  // overlong below
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else if (lead == 0xF4) {
    length = 4;
    second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0, C1, F5..FF
  }
  if (s.size() - i < length) return 0;
  if (byte(i + 1) < second_min || byte(i + 1) > second_max) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// A name being built from escaped and literal units: runs of escaped bytes
// share one "%{...}" group.
class NameBuilder {
 public:
  explicit NameBuilder(size_t reserve) { name_.reserve(reserve); }

  void AppendEscaped(char c) {
    if (!open_) name_ += kEscapeOpen;
    open_ = true;
    const auto b = static_cast<unsigned char>(c);
    name_.push_back(kHexDigits[b >> 4]);
    name_.push_back(kHexDigits[b & 0xF]);
  }

  void AppendLiteral(std::string_view unit) {
    Close();
    name_.append(unit);
  }

  void Close() {
    if (open_) name_.push_back(kEscapeClose);
    open_ = false;
  }

  // The size of the name if it were closed now.
  size_t ClosedSize() const { return name_.size() + (open_ ? 1 : 0); }

  // A point to cut back to with CutTo.
  struct Mark {
    size_t size = 0;
    bool open = false;
  };
  Mark mark() const { return {name_.size(), open_}; }

  void CutTo(Mark mark) {
    name_.resize(mark.size);
    open_ = mark.open;
  }

  std::string Release() && { return std::move(name_); }

 private:
  std::string name_;
  bool open_ = false;
};

// Parses one "%{HH...}" group of `name` at `*i` (just past "%{") into `out`
// and moves `*i` past the "}". Returns false if it is not one: no pair, a
// digit that is not uppercase hex, an odd count, or no "}".
bool ParseByteGroup(std::string_view name, size_t* i, std::string* out) {
  size_t k = *i;
  while (k + 1 < name.size() && IsUpperHex(name[k]) && IsUpperHex(name[k + 1])) {
    out->push_back(static_cast<char>(HexValue(name[k]) * 16 + HexValue(name[k + 1])));
    k += 2;
  }
  if (k == *i || k >= name.size() || name[k] != kEscapeClose) return false;
  *i = k + 1;
  return true;
}

// Parses "HHHHHHHHHHHHHHHH}" (the rest of a hash tail after "%{#"), which must
// be all of `rest`.
bool ParseHashTail(std::string_view rest, uint64_t* hash) {
  if (rest.size() != kHashDigits + 1 || rest.back() != kEscapeClose) return false;
  uint64_t value = 0;
  for (char c : rest.substr(0, kHashDigits)) {
    if (!IsUpperHex(c)) return false;
    value = value * 16 + HexValue(c);
  }
  *hash = value;
  return true;
}

}  // namespace

PathCodec::PathCodec(char delimiter) : delimiter_(delimiter) {}

uint64_t PathCodec::Hash(std::string_view component) {
  uint64_t hash = kFnvOffsetBasis;
  for (char c : component) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

bool PathCodec::IsHashed(std::string_view name) {
  // Encode escapes every '%' that precedes '{' in a component, so "%{#" only
  // ever opens a hash tail.
  return name.find(kHashOpen) != std::string_view::npos;
}

std::string PathCodec::Encode(std::string_view component, NameRole role, bool at_root) const {
  const std::string_view suffix = role == NameRole::kDirValue ? kDirValueSuffix : "";
  const size_t prefix_limit = kNameMax - kHashedTailSize - suffix.size();
  NameBuilder builder(std::min(component.size(), kNameMax) + suffix.size());
  NameBuilder::Mark cut;  // the longest whole-unit prefix that fits prefix_limit once closed
  if (component.empty()) {
    builder.AppendLiteral(kEmptyMarker);
  } else if (component == "." || component == ".." ||
             (at_root && component == kControlDirName)) {
    builder.AppendEscaped('.');
    builder.AppendLiteral(component.substr(1));
  } else {
    size_t i = 0;
    while (i < component.size()) {
      const char c = component[i];
      size_t length = Utf8CharLength(component, i);
      // A multibyte character holding a (non-ASCII) delimiter byte cannot
      // occur in a real component; escaping it keeps the delimiter out of
      // every name regardless.
      if (length > 1 && component.substr(i, length).find(delimiter_) != std::string_view::npos) {
        length = 0;
      }
      const bool opens_escape = c == '%' && i + 1 < component.size() && component[i + 1] == '{';
      if (length == 0 || c == '\0' || c == '/' || c == delimiter_ || opens_escape) {
        builder.AppendEscaped(c);
        length = 1;
      } else {
        builder.AppendLiteral(component.substr(i, length));
      }
      i += length;
      if (builder.ClosedSize() <= prefix_limit) cut = builder.mark();
    }
  }
  builder.Close();
  const bool too_long = builder.ClosedSize() + suffix.size() > kNameMax;
  if (too_long) {
    builder.CutTo(cut);
    builder.Close();
  }
  std::string name = std::move(builder).Release();
  if (too_long) {
    name += kHashOpen;
    const uint64_t hash = Hash(component);
    for (int shift = 60; shift >= 0; shift -= 4) name.push_back(kHexDigits[(hash >> shift) & 0xF]);
    name.push_back(kEscapeClose);
  }
  name += suffix;
  return name;
}

int PathCodec::Decode(std::string_view name, bool at_root, DecodedName* out) const {
  if (name.size() > kNameMax) return ENAMETOOLONG;
  if (name.empty()) return EINVAL;
  if (name.find('\0') != std::string_view::npos || name.find('/') != std::string_view::npos) {
    return EINVAL;
  }
  DecodedName result;
  std::string_view body = name;
  if (body.ends_with(kDirValueSuffix)) {
    result.role = NameRole::kDirValue;
    body.remove_suffix(kDirValueSuffix.size());
  }
  if (body.empty()) return EINVAL;

  size_t prefix_size = body.size();  // the bytes before a hash tail
  if (body != kEmptyMarker) {
    result.component.reserve(body.size());
    size_t i = 0;
    while (i < body.size()) {
      if (!body.substr(i).starts_with(kEscapeOpen)) {
        result.component.push_back(body[i++]);
      } else if (body.substr(i).starts_with(kHashOpen)) {
        if (!ParseHashTail(body.substr(i + kHashOpen.size()), &result.hash)) return EINVAL;
        result.hashed = true;
        prefix_size = i;
        break;
      } else {
        i += kEscapeOpen.size();
        if (!ParseByteGroup(body, &i, &result.component)) return EINVAL;
      }
    }
  }
  if (result.component.find(delimiter_) != std::string::npos) return EINVAL;

  if (result.hashed) {
    // Encode only hashes a component that overflows, and then keeps the
    // longest prefix that fits, so a canonical prefix is within one unit of
    // the limit. Shorter ones name no key.
    const size_t prefix_limit = kNameMax - kHashedTailSize - (name.size() - body.size());
    if (prefix_size + kLongestUnit <= prefix_limit) return EINVAL;
  } else if (Encode(result.component, result.role, at_root) != name) {
    return EINVAL;
  }
  *out = std::move(result);
  return 0;
}

}  // namespace rocksfs::fs
