#include "fs/path_codec.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rocksfs::fs {
namespace {

using namespace std::string_literals;

constexpr NameRole kRoles[] = {NameRole::kPlain, NameRole::kDirValue};
constexpr bool kAtRoot[] = {false, true};

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string HashHex(uint64_t hash) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llX", static_cast<unsigned long long>(hash));
  return buffer;
}

std::string Repeat(std::string_view s, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += s;
  return out;
}

// A byte that escapes themselves are written with ("%{HH}", "%{@}", "%{#H}");
// a delimiter that is one may show in a name, but only inside an escape.
bool IsEscapeSyntax(char c) {
  return std::string_view("%{}@#0123456789ABCDEF").find(c) != std::string_view::npos;
}

// The checks every encoded name must pass, shared by the property tests.
::testing::AssertionResult RoundTrips(const PathCodec& codec, std::string_view component,
                                      NameRole role, bool at_root) {
  const auto fail = [&](std::string_view what, std::string_view name) {
    return ::testing::AssertionFailure()
           << what << ": component \"" << Printable(component) << "\" role "
           << static_cast<int>(role) << " at_root " << at_root << " delimiter "
           << Printable(std::string(1, codec.delimiter())) << " -> name \"" << Printable(name)
           << "\"";
  };
  const std::string name = codec.Encode(component, role, at_root);
  if (name.empty() || name.size() > kNameMax) return fail("bad length", name);
  if (name.find('\0') != std::string::npos) return fail("NUL in name", name);
  if (name.find('/') != std::string::npos) return fail("'/' in name", name);
  if (!IsEscapeSyntax(codec.delimiter()) && name.find(codec.delimiter()) != std::string::npos) {
    return fail("delimiter in name", name);
  }
  if (name == "." || name == "..") return fail("dot name", name);
  if (codec.Encode(component, role, at_root) != name) return fail("not deterministic", name);

  DecodedName decoded;
  if (int error = codec.Decode(name, at_root, &decoded); error != 0) {
    return fail("Decode failed with " + std::to_string(error), name);
  }
  if (decoded.role != role) return fail("role lost", name);
  const size_t suffix_size = role == NameRole::kDirValue ? 4 : 0;
  if (!decoded.hashed) {
    if (decoded.component != component) {
      return fail("decoded to \"" + Printable(decoded.component) + "\"", name);
    }
    if (component.size() + suffix_size > kNameMax) return fail("long component not hashed", name);
  } else {
    if (!component.starts_with(decoded.component)) return fail("prefix is not a prefix", name);
    if (decoded.hash != PathCodec::Hash(component)) return fail("wrong hash", name);
    if (name.size() < kNameMax - 4) return fail("hashed name cut too short", name);
  }
  return ::testing::AssertionSuccess();
}

// Random components that never hold `delimiter`, drawn from a mix built to
// hit the escape rules: raw bytes, '%'-heavy ASCII, valid multibyte UTF-8.
class ComponentGenerator {
 public:
  ComponentGenerator(uint64_t seed, char delimiter) : rng_(seed), delimiter_(delimiter) {}

  std::string Next() {
    const int special = Uniform(0, 49);
    if (special == 0) return "";
    if (special == 1) return ".";
    if (special == 2) return "..";
    if (special == 3) return ".rocksfs";
    // Half short, half anywhere up to 600 bytes (so around the 255 limit too).
    const size_t length = Uniform(0, 1) ? Uniform(0, 24) : Uniform(0, 600);
    const int mode = Uniform(0, 3);
    std::string out;
    while (out.size() < length) {
      switch (mode == 3 ? Uniform(0, 2) : mode) {
        case 0: out.push_back(static_cast<char>(Uniform(0, 255))); break;
        case 1: out.push_back(kTricky[Uniform(0, sizeof(kTricky) - 2)]); break;
        default: AppendCodePoint(&out); break;
      }
    }
    std::erase(out, delimiter_);
    return out;
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  static constexpr char kTricky[] = "%%%%%{{{}}@@##0123456789ABCDEFabcdef..a/:";

  void AppendCodePoint(std::string* out) {
    uint32_t cp;
    switch (Uniform(0, 4)) {
      case 0: cp = Uniform(0x20, 0x7E); break;
      case 1: cp = Uniform(0x80, 0x7FF); break;
      case 2: cp = Uniform(0x800, 0xFFFF); break;
      case 3: cp = Uniform(0x10000, 0x10FFFF); break;
      default: out->push_back('%'); return;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::mt19937_64 rng_;
  char delimiter_;
};

TEST(PathCodec, PlainNamesStayThemselves) {
  const PathCodec codec('/');
  for (const std::string name :
       {"alice", "50%off.txt", "My%20File.pdf", "caf%C3%A9.txt", "a%2Bb", "100%", "%d.txt",
        "a%ab", "na\xC3\xAFve.txt", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "a b", "config.json",
        "%", "%%", "%4", "%4g", "a%2f", "%41", "%2E", "%2E.", "%00", "%FF", "%@", "blue%@", "%#",
        "a%#0123456789ABCDEF", "%25", "{}", "a{b}", "}{", "%}", "{%", "%x{", "{41}", "@{}",
        "...", ".hidden", "rocksfs", "emoji\xF0\x9F\x98\x80", "a:b"}) {
    for (bool at_root : kAtRoot) {
      SCOPED_TRACE(Printable(name));
      EXPECT_EQ(codec.Encode(name, NameRole::kPlain, at_root), name);
      DecodedName decoded;
      ASSERT_EQ(codec.Decode(name, at_root, &decoded), 0);
      EXPECT_EQ(decoded.component, name);
      EXPECT_EQ(decoded.role, NameRole::kPlain);
      EXPECT_FALSE(decoded.hashed);
    }
  }
}

TEST(PathCodec, EncodesEscapesExactly) {
  struct Case {
    std::string component;
    NameRole role;
    bool at_root;
    char delimiter;
    std::string name;
  };
  const Case cases[] = {
      {"", NameRole::kPlain, false, '/', "%{}"},
      {"", NameRole::kPlain, true, '/', "%{}"},
      {".", NameRole::kPlain, false, '/', "%{2E}"},
      {"..", NameRole::kPlain, false, '/', "%{2E}."},
      {".", NameRole::kDirValue, false, '/', "%{2E}%{@}"},
      {".rocksfs", NameRole::kPlain, true, '/', "%{2E}rocksfs"},
      {".rocksfs", NameRole::kPlain, false, '/', ".rocksfs"},
      {".rocksfs", NameRole::kDirValue, true, '/', "%{2E}rocksfs%{@}"},
      {".rocksfsx", NameRole::kPlain, true, '/', ".rocksfsx"},
      {"a\0b"s, NameRole::kPlain, false, '/', "a%{00}b"},
      {"a/b", NameRole::kPlain, false, ':', "a%{2F}b"},
      {"a:b", NameRole::kPlain, false, '/', "a:b"},
      {"x\xff", NameRole::kPlain, false, '/', "x%{FF}"},
      // Runs of escaped bytes share one group.
      {"\0\0/"s, NameRole::kPlain, false, ':', "%{00002F}"},
      {"a\xff" "b\xfe", NameRole::kPlain, false, '/', "a%{FF}b%{FE}"},
      // Only a '%' before '{' is escaped.
      {"%{", NameRole::kPlain, false, '/', "%{25}{"},
      {"%{41}", NameRole::kPlain, false, '/', "%{25}{41}"},
      {"a%{@}", NameRole::kPlain, false, '/', "a%{25}{@}"},
      {"%{#0123456789ABCDEF}", NameRole::kPlain, false, '/', "%{25}{#0123456789ABCDEF}"},
      {"%%{", NameRole::kPlain, false, '/', "%%{25}{"},
      {"%\xff", NameRole::kPlain, false, '/', "%%{FF}"},
      {"%\xff{", NameRole::kPlain, false, '/', "%%{FF}{"},
      {"\xff%{", NameRole::kPlain, false, '/', "%{FF25}{"},
      {"%A/", NameRole::kPlain, false, ':', "%A%{2F}"},
      {"blue", NameRole::kDirValue, false, '/', "blue%{@}"},
      {"", NameRole::kDirValue, false, '/', "%{}%{@}"},
      {"a%", NameRole::kDirValue, false, '/', "a%%{@}"},
      {"%", NameRole::kDirValue, false, '/', "%%{@}"},
      {"a\xff", NameRole::kDirValue, false, '/', "a%{FF}%{@}"},
      // Invalid UTF-8: a lone continuation, a truncated sequence, an
      // overlong, a surrogate, a code point above U+10FFFF.
      {"\x80", NameRole::kPlain, false, '/', "%{80}"},
      {"\xC3", NameRole::kPlain, false, '/', "%{C3}"},
      {"\xE6\x97", NameRole::kPlain, false, '/', "%{E697}"},
      {"\xC0\xAF", NameRole::kPlain, false, '/', "%{C0AF}"},
      {"\xE0\x80\xAF", NameRole::kPlain, false, '/', "%{E080AF}"},
      {"\xED\xA0\x80", NameRole::kPlain, false, '/', "%{EDA080}"},
      {"\xF4\x90\x80\x80", NameRole::kPlain, false, '/', "%{F4908080}"},
      {"\xF4\x8F\xBF\xBF", NameRole::kPlain, false, '/', "\xF4\x8F\xBF\xBF"},
      {"\xC3\xA9\xC3", NameRole::kPlain, false, '/', "\xC3\xA9%{C3}"},
      // The delimiter itself, under NUL and under a non-ASCII delimiter.
      {"a\0b"s, NameRole::kPlain, false, '\0', "a%{00}b"},
      {"a\x80", NameRole::kPlain, false, '\x80', "a%{80}"},
      {"\xC3\x80", NameRole::kPlain, false, '\x80', "%{C380}"},
      // Delimiters that escapes are written with.
      {"a{b", NameRole::kPlain, false, '{', "a%{7B}b"},
      {"a}b", NameRole::kPlain, false, '}', "a%{7D}b"},
      {"%", NameRole::kDirValue, false, '{', "%%{@}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Printable(c.component));
    const PathCodec codec(c.delimiter);
    EXPECT_EQ(codec.Encode(c.component, c.role, c.at_root), c.name);
    DecodedName decoded;
    if (c.component.find(c.delimiter) != std::string::npos) {
      // Not a real component; its name must not decode to it.
      EXPECT_EQ(codec.Decode(c.name, c.at_root, &decoded), EINVAL);
      continue;
    }
    ASSERT_EQ(codec.Decode(c.name, c.at_root, &decoded), 0);
    EXPECT_EQ(decoded.component, c.component);
    EXPECT_EQ(decoded.role, c.role);
    EXPECT_FALSE(decoded.hashed);
  }
}

TEST(PathCodec, RejectsNonCanonicalNames) {
  struct Case {
    std::string name;
    bool at_root;
    char delimiter;
    int error;
  };
  const Case cases[] = {
      {"%{41}", false, '/', EINVAL},        // would be "A"
      {"%{2f}", false, '/', EINVAL},        // lowercase hex
      {"%{2F}x", false, '/', EINVAL},       // holds the delimiter
      {"a%{3A}b", false, ':', EINVAL},      // holds the delimiter
      {"a:b", false, ':', EINVAL},          // raw delimiter
      {"a{b", false, '{', EINVAL},
      {"%{00}", false, '\0', EINVAL},       // NUL delimiter
      {"%{FF}%{FE}", false, '/', EINVAL},   // one run, one group
      {"%{FFFE}", false, '/', 0},
      {"%{FF}{", false, '/', 0},            // "\xff{": only "%{" opens an escape
      // A "%{" that opens no well-formed escape.
      {"%{", false, '/', EINVAL},
      {"%{x}", false, '/', EINVAL},
      {"a%{F", false, '/', EINVAL},
      {"a%{FF", false, '/', EINVAL},
      {"%{FFF}", false, '/', EINVAL},       // odd digit count
      {"%{G0}", false, '/', EINVAL},
      {"%{%}", false, '/', EINVAL},
      {"%{ FF}", false, '/', EINVAL},
      {"a%{}b", false, '/', EINVAL},        // stray empty marker
      {"%{}x", false, '/', EINVAL},
      {"%{}%{}", false, '/', EINVAL},
      {"%{}%{}%{}", false, '/', EINVAL},
      {"%{@}", false, '/', EINVAL},         // a suffix with nothing before it
      {"%{@}x", false, '/', EINVAL},
      {"x%{@}%{@}", false, '/', EINVAL},
      {"%{}%{@}", false, '/', 0},
      {"%{#123}", false, '/', EINVAL},      // stray hash marker
      {"a%{#0123456789ABCDEF}x", false, '/', EINVAL},
      {"a%{#0123456789abcdef}", false, '/', EINVAL},  // lowercase hash
      {"a%{#0123456789ABCDEF}", false, '/', EINVAL},  // hashed but far too short
      {"%{25}", false, '/', EINVAL},        // "%" is spelled "%"
      {"%{25}x", false, '/', EINVAL},
      {"%{25}{", false, '/', 0},            // "%{" is spelled so
      {"%{25}{41}", false, '/', 0},         // "%{41}" is spelled so
      {"%{C3A9}", false, '/', EINVAL},      // valid UTF-8 is literal
      {"\xff", false, '/', EINVAL},         // invalid UTF-8 is escaped
      {"\xC3", false, '/', EINVAL},
      {".", false, '/', EINVAL},
      {"..", false, '/', EINVAL},
      {"%{2E2E}", false, '/', EINVAL},
      {"%{2E}%{2E}", false, '/', EINVAL},
      {"%{2E}x", false, '/', EINVAL},
      {"%{2E}rocksfs", false, '/', EINVAL},  // reserved only at the root
      {"%{2E}rocksfs", true, '/', 0},
      {".rocksfs", true, '/', EINVAL},      // the control directory's name
      {"a/b", false, ':', EINVAL},
      {"a\0b"s, false, ':', EINVAL},
      {"", false, '/', EINVAL},
      {std::string(255, 'a'), false, '/', 0},
      {std::string(256, 'a'), false, '/', ENAMETOOLONG},
      {std::string(300, '%'), false, '/', ENAMETOOLONG},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Printable(c.name));
    DecodedName decoded;
    EXPECT_EQ(PathCodec(c.delimiter).Decode(c.name, c.at_root, &decoded), c.error);
  }
}

TEST(PathCodec, HashMatchesFnv1a64) {
  EXPECT_EQ(PathCodec::Hash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(PathCodec::Hash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(PathCodec::Hash("foobar"), 0x85944171f73967e8ULL);
}

TEST(PathCodec, LongComponentsAreHashedAtAWholeUnit) {
  const std::string smiley = "\xF0\x9F\x98\x80";
  const std::string kanji = "\xE6\x97\xA5";
  struct Case {
    std::string component;
    NameRole role;
    std::string prefix;  // the name before "%{#", or the whole name if not hashed
    bool hashed;
  };
  // A hashed name's prefix may take 235 bytes (255 less "%{#", 16 digits and
  // "}"), or 231 before a "%{@}" suffix.
  const Case cases[] = {
      {std::string(255, 'a'), NameRole::kPlain, std::string(255, 'a'), false},
      {std::string(251, 'a'), NameRole::kDirValue, std::string(251, 'a'), false},
      {std::string(256, 'a'), NameRole::kPlain, std::string(235, 'a'), true},
      {std::string(252, 'a'), NameRole::kDirValue, std::string(231, 'a'), true},
      {std::string(600, 'a'), NameRole::kPlain, std::string(235, 'a'), true},
      // 1 + 2 + 2 * 100 + 1 bytes: fits.
      {"a" + std::string(100, '\xff'), NameRole::kPlain, "a%{" + Repeat("FF", 100) + "}", false},
      // The group is cut and closed: "a%{" + 2 * 115 + "}" = 234.
      {"a" + std::string(200, '\xff'), NameRole::kPlain, "a%{" + Repeat("FF", 115) + "}", true},
      {"ab" + std::string(200, '\xff'), NameRole::kPlain, "ab%{" + Repeat("FF", 115) + "}", true},
      // The cut falls after a literal: the next unit, "%{FF}", does not fit.
      {std::string(231, 'a') + std::string(200, '\xff'), NameRole::kPlain,
       std::string(231, 'a'), true},
      {std::string(230, 'a') + std::string(200, '\xff'), NameRole::kPlain,
       std::string(230, 'a') + "%{FF}", true},
      {Repeat(kanji, 100), NameRole::kPlain, Repeat(kanji, 78), true},
      {"b" + Repeat(smiley, 100), NameRole::kPlain, "b" + Repeat(smiley, 58), true},
      {"bb" + Repeat(smiley, 100), NameRole::kPlain, "bb" + Repeat(smiley, 58), true},
      {"bb" + Repeat(smiley, 100), NameRole::kDirValue, "bb" + Repeat(smiley, 57), true},
      {"b" + Repeat(smiley, 100), NameRole::kDirValue, "b" + Repeat(smiley, 57), true},
      {Repeat("%{AB", 100), NameRole::kPlain, Repeat("%{25}{AB", 29), true},
      // The cut may fall between '%' and '{': the prefix keeps the '%' as
      // "%{25}", which alone would be literal, so only Encode of the whole
      // component reproduces the name.
      {"xxxxxx" + Repeat("%{AB", 100), NameRole::kPlain,
       "xxxxxx" + Repeat("%{25}{AB", 28) + "%{25}", true},
  };
  const PathCodec codec('/');
  for (const Case& c : cases) {
    SCOPED_TRACE(Printable(c.component));
    const std::string suffix = c.role == NameRole::kDirValue ? "%{@}" : "";
    const std::string expected =
        c.hashed ? c.prefix + "%{#" + HashHex(PathCodec::Hash(c.component)) + "}" + suffix
                 : c.prefix + suffix;
    const std::string name = codec.Encode(c.component, c.role, false);
    EXPECT_EQ(name, expected);
    EXPECT_EQ(PathCodec::IsHashed(name), c.hashed);
    DecodedName decoded;
    ASSERT_EQ(codec.Decode(name, false, &decoded), 0);
    EXPECT_EQ(decoded.hashed, c.hashed);
    EXPECT_EQ(decoded.role, c.role);
    EXPECT_TRUE(c.component.starts_with(decoded.component));
    if (c.hashed) {
      EXPECT_EQ(decoded.hash, PathCodec::Hash(c.component));
    }
  }
}

TEST(PathCodec, TamperedHashedNamesAreRejected) {
  const PathCodec codec('/');
  const std::string component(300, 'q');
  const std::string name = codec.Encode(component, NameRole::kPlain, false);
  ASSERT_EQ(name.size(), 255u);
  const std::string digits = name.substr(name.size() - 17, 16);
  DecodedName decoded;
  ASSERT_EQ(codec.Decode(name, false, &decoded), 0);
  std::string lowercase = name;
  for (size_t i = lowercase.size() - 17; i < lowercase.size() - 1; ++i) {
    lowercase[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(lowercase[i])));
  }
  if (lowercase != name) {
    EXPECT_EQ(codec.Decode(lowercase, false, &decoded), EINVAL);
  }
  EXPECT_EQ(codec.Decode(name.substr(0, name.size() - 1), false, &decoded), EINVAL);
  EXPECT_EQ(codec.Decode(name.substr(0, name.size() - 2) + "}", false, &decoded), EINVAL);
  EXPECT_EQ(codec.Decode(name.substr(10), false, &decoded), EINVAL);
  EXPECT_EQ(codec.Decode("x%{#" + digits + "}", false, &decoded), EINVAL);
  std::string with_delimiter = name;
  with_delimiter.replace(0, 5, "%{2F}");
  EXPECT_EQ(codec.Decode(with_delimiter, false, &decoded), EINVAL);
  std::string with_marker = name;
  with_marker.replace(0, 3, "%{}");
  EXPECT_EQ(codec.Decode(with_marker, false, &decoded), EINVAL);
  std::string with_suffix_inside = name;
  with_suffix_inside.replace(0, 4, "%{@}");
  EXPECT_EQ(codec.Decode(with_suffix_inside, false, &decoded), EINVAL);
}

TEST(PathCodec, EveryKeyRoundTrips) {
  constexpr int kComponents = 200000;
  // '}' closes every escape; as the delimiter it may only show inside one.
  const char delimiters[] = {'/', ':', '\0', '}'};
  int hashed = 0;
  for (char delimiter : delimiters) {
    const PathCodec codec(delimiter);
    ComponentGenerator generator(0x5eed0000 + static_cast<unsigned char>(delimiter), delimiter);
    for (size_t i = 0; i < kComponents / std::size(delimiters); ++i) {
      const std::string component = generator.Next();
      for (NameRole role : kRoles) {
        for (bool at_root : kAtRoot) {
          ASSERT_TRUE(RoundTrips(codec, component, role, at_root));
        }
      }
      hashed += PathCodec::IsHashed(codec.Encode(component, NameRole::kPlain, false));
    }
  }
  // The mix must exercise both forms.
  EXPECT_GT(hashed, kComponents / 10);
  EXPECT_LT(hashed, kComponents / 2);
}

// Names of distinct (component, role) pairs in one directory never collide.
// Hashed names may only collide on a 64-bit hash collision.
void ExpectInjective(const PathCodec& codec, bool at_root,
                     const std::vector<std::string>& components) {
  std::unordered_map<std::string, std::pair<std::string, NameRole>> seen;
  for (const std::string& component : components) {
    for (NameRole role : kRoles) {
      const std::string name = codec.Encode(component, role, at_root);
      auto [it, inserted] = seen.try_emplace(name, component, role);
      if (inserted || it->second == std::pair(component, role)) continue;
      const bool same_hash = PathCodec::Hash(it->second.first) == PathCodec::Hash(component);
      ASSERT_TRUE(PathCodec::IsHashed(name) && same_hash)
          << "\"" << Printable(component) << "\" and \"" << Printable(it->second.first)
          << "\" share the name \"" << Printable(name) << "\"";
    }
  }
}

TEST(PathCodec, ShortComponentsAreInjective) {
  // Every string of up to 5 bytes over the bytes that take part in escapes.
  const std::string alphabet = "%{}@#A.\xff/:"s;
  for (char delimiter : {'/', ':', '{'}) {
    std::string letters = alphabet;
    std::erase(letters, delimiter);
    std::vector<std::string> components = {""};
    for (size_t begin = 0, length = 1; length <= 5; ++length) {
      const size_t end = components.size();
      for (size_t i = begin; i < end; ++i) {
        for (char c : letters) components.push_back(components[i] + c);
      }
      begin = end;
    }
    const PathCodec codec(delimiter);
    for (bool at_root : kAtRoot) {
      for (const std::string& component : components) {
        for (NameRole role : kRoles) ASSERT_TRUE(RoundTrips(codec, component, role, at_root));
      }
      ExpectInjective(codec, at_root, components);
    }
  }
}

TEST(PathCodec, RandomComponentsAreInjective) {
  std::mt19937_64 rng(42);
  const auto uniform = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  const std::string letters = "%%{}@#0AF.a\xff\xC3\xA9:"s;
  // Long components share prefixes so that many land on the same hashed prefix.
  const std::string base = std::string(200, 'p') + "%{A";
  std::vector<std::string> components;
  for (int i = 0; i < 100000; ++i) {
    std::string component = uniform(0, 3) == 0 ? base.substr(0, uniform(0, base.size())) : "";
    const size_t length = uniform(0, 1) ? uniform(0, 8) : uniform(0, 120);
    for (size_t k = 0; k < length; ++k) component.push_back(letters[uniform(0, letters.size() - 1)]);
    components.push_back(std::move(component));
  }
  const PathCodec codec('/');
  for (bool at_root : kAtRoot) ExpectInjective(codec, at_root, components);
}

TEST(PathCodec, RandomNamesDecodeOrReject) {
  std::mt19937_64 rng(7);
  const auto uniform = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  const std::string letters = "%%%%{{{}}}@@##0123456789ABCDEFaef..:\x80\xA9\xC3\xE6\xF0\xff"s;
  ComponentGenerator generator(99, '/');
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 200000; ++i) {
    const bool at_root = uniform(0, 1);
    const char delimiter = uniform(0, 1) ? '/' : ':';
    const PathCodec codec(delimiter);
    std::string name;
    if (uniform(0, 1)) {
      const size_t length = uniform(0, 1) ? uniform(0, 10) : uniform(0, 270);
      for (size_t k = 0; k < length; ++k) name.push_back(letters[uniform(0, letters.size() - 1)]);
    } else {
      // A valid name with one small mutation.
      std::string component = generator.Next();
      std::erase(component, delimiter);
      name = codec.Encode(component, uniform(0, 1) ? NameRole::kDirValue : NameRole::kPlain,
                          at_root);
      const size_t at = uniform(0, name.size());
      const char c = letters[uniform(0, letters.size() - 1)];
      switch (uniform(0, 2)) {
        case 0: name.insert(name.begin() + at, c); break;
        case 1: if (at < name.size()) name.erase(at, 1); break;
        default: if (at < name.size()) name[at] = c; break;
      }
    }
    DecodedName decoded;
    const int error = codec.Decode(name, at_root, &decoded);
    if (name.size() > kNameMax) {
      ASSERT_EQ(error, ENAMETOOLONG) << Printable(name);
      continue;
    }
    if (error != 0) {
      ASSERT_EQ(error, EINVAL) << Printable(name);
      ++rejected;
      continue;
    }
    ++accepted;
    ASSERT_EQ(decoded.component.find(delimiter), std::string::npos) << Printable(name);
    if (!decoded.hashed) {
      ASSERT_EQ(codec.Encode(decoded.component, decoded.role, at_root), name) << Printable(name);
    } else {
      ASSERT_GE(name.size(), kNameMax - 4) << Printable(name);
    }
  }
  EXPECT_GT(accepted, 10000);
  EXPECT_GT(rejected, 10000);
}

}  // namespace
}  // namespace rocksfs::fs
