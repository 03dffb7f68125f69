#include "fs/path_codec.h"

#include <algorithm>
#include <cerrno>

namespace rocksfs::fs {
namespace {

constexpr std::string_view kEmptyMarker = "%@";
constexpr std::string_view kDirValueSuffix = "%@";
constexpr std::string_view kHashMarker = "%#";
constexpr size_t kHashDigits = 16;
// "%#" plus the hash digits.
constexpr size_t kHashedTailSize = kHashMarker.size() + kHashDigits;
// The longest unit a hashed prefix is cut between: a 4-byte UTF-8 character.
constexpr size_t kLongestUnit = 4;
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

// A raw '%' at component[i] must be escaped when the decoder would otherwise
// read it as the start of an escape.
bool PercentStartsEscape(std::string_view component, size_t i) {
  const size_t rest = component.size() - i - 1;
  if (rest >= 1 && (component[i + 1] == '@' || component[i + 1] == '#')) return true;
  return rest >= 2 && IsUpperHex(component[i + 1]) && IsUpperHex(component[i + 2]);
}

void AppendByteEscape(std::string* out, char c) {
  const auto b = static_cast<unsigned char>(c);
  out->push_back('%');
  out->push_back(kHexDigits[b >> 4]);
  out->push_back(kHexDigits[b & 0xF]);
}

// Undoes %XX escapes; a '%' not followed by two uppercase hex digits, '@' or
// '#' is literal. Returns false on a stray "%@" or "%#".
bool Unescape(std::string_view body, std::string* out) {
  out->clear();
  out->reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '%') {
      out->push_back(c);
      continue;
    }
    const size_t rest = body.size() - i - 1;
    if (rest >= 1 && (body[i + 1] == '@' || body[i + 1] == '#')) return false;
    if (rest >= 2 && IsUpperHex(body[i + 1]) && IsUpperHex(body[i + 2])) {
      out->push_back(static_cast<char>(HexValue(body[i + 1]) * 16 + HexValue(body[i + 2])));
      i += 2;
    } else {
      out->push_back('%');
    }
  }
  return true;
}

// True if `body` ends with "%#" and 16 uppercase hex digits.
bool HasHashTail(std::string_view body) {
  if (body.size() < kHashedTailSize) return false;
  const std::string_view tail = body.substr(body.size() - kHashedTailSize);
  if (!tail.starts_with(kHashMarker)) return false;
  for (char c : tail.substr(kHashMarker.size())) {
    if (!IsUpperHex(c)) return false;
  }
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

std::string PathCodec::Encode(std::string_view component, NameRole role, bool at_root) const {
  const std::string_view suffix = role == NameRole::kDirValue ? kDirValueSuffix : "";
  const size_t prefix_limit = kNameMax - kHashedTailSize - suffix.size();
  std::string name;
  size_t cut = 0;  // the longest whole-unit prefix of `name` within prefix_limit
  if (component.empty()) {
    name = kEmptyMarker;
  } else if (component == ".") {
    name = "%2E";
  } else if (component == "..") {
    name = "%2E.";
  } else if (at_root && component == kControlDirName) {
    name = "%2E";
    name += component.substr(1);
  } else {
    name.reserve(std::min(component.size(), kNameMax) + suffix.size());
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
      if (length == 0 || c == '\0' || c == '/' || c == delimiter_ ||
          (c == '%' && PercentStartsEscape(component, i))) {
        AppendByteEscape(&name, c);
        length = 1;
      } else {
        name.append(component.substr(i, length));
      }
      i += length;
      if (name.size() <= prefix_limit) cut = name.size();
    }
  }
  if (name.size() + suffix.size() > kNameMax) {
    name.resize(cut);
    name += kHashMarker;
    const uint64_t hash = Hash(component);
    for (int shift = 60; shift >= 0; shift -= 4) name.push_back(kHexDigits[(hash >> shift) & 0xF]);
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
  if (name.size() > kDirValueSuffix.size() && name.ends_with(kDirValueSuffix)) {
    result.role = NameRole::kDirValue;
    body.remove_suffix(kDirValueSuffix.size());
  }

  if (body == kEmptyMarker) {
    // The empty component; canonical by construction.
  } else if (HasHashTail(body)) {
    const std::string_view prefix = body.substr(0, body.size() - kHashedTailSize);
    // Encode only hashes a body that overflows, and then keeps the longest
    // prefix that fits, so a canonical prefix is within one unit of the
    // limit. Shorter ones name no key.
    const size_t suffix_size = name.size() - body.size();
    const size_t prefix_limit = kNameMax - kHashedTailSize - suffix_size;
    if (prefix.size() + kLongestUnit <= prefix_limit) return EINVAL;
    if (!Unescape(prefix, &result.component)) return EINVAL;
    if (result.component.find(delimiter_) != std::string::npos) return EINVAL;
    uint64_t hash = 0;
    for (char c : body.substr(body.size() - kHashDigits)) hash = hash * 16 + HexValue(c);
    result.hashed = true;
    result.hash = hash;
    *out = std::move(result);
    return 0;
  } else if (!Unescape(body, &result.component)) {
    return EINVAL;
  }

  if (result.component.find(delimiter_) != std::string::npos) return EINVAL;
  if (Encode(result.component, result.role, at_root) != name) return EINVAL;
  *out = std::move(result);
  return 0;
}

}  // namespace rocksfs::fs
