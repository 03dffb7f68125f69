// Tests of the tsv/ndjson record encodings (kv/record_codec.h).

#include "kv/record_codec.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rocksfs::kv {
namespace {

using namespace std::string_literals;

// Byte strings that every encoding must carry through unchanged.
const std::vector<std::string>& AwkwardStrings() {
  static const std::vector<std::string> strings = {
      ""s,          "plain"s,        "a\tb"s,          "line\nbreak\r\n"s, "back\\slash"s,
      "\\t"s,       "nul\0byte"s,    "\xff\xfe"s,      "caf\xc3\xa9"s,     "\xed\xa0\x80"s,
      "\x7f\x01"s,  "quote\"s"s,     "emoji \xf0\x9f\x98\x80"s, "{\"key\": 1}"s, "%41/%@"s,
      std::string(1, '\0'), "\xc3"s, "trailing \\"s};
  return strings;
}

TEST(RecordCodec, TsvRoundTripsEveryByteString) {
  for (const std::string& key : AwkwardStrings()) {
    for (const std::string& value : AwkwardStrings()) {
      std::string line;
      AppendTsvRecord(key, value, &line);
      ASSERT_EQ(line.back(), '\n');
      line.pop_back();
      EXPECT_EQ(line.find('\n'), std::string::npos);
      std::string k, v;
      ASSERT_EQ(ParseTsvRecord(line, &k, &v), "") << line;
      EXPECT_EQ(k, key);
      EXPECT_EQ(v, value);
    }
  }
}

TEST(RecordCodec, TsvOutputIsUtf8Text) {
  std::string line;
  AppendTsvRecord("a\xff\x01", "caf\xc3\xa9\t", &line);
  EXPECT_EQ(line, "a\\xFF\\x01\tcaf\xc3\xa9\\t\n");
  EXPECT_TRUE(IsValidUtf8(line));
}

TEST(RecordCodec, TsvParsesEscapesAndCrlf) {
  struct Case {
    std::string line, key, value;
  } cases[] = {
      {"k\tv", "k", "v"},
      {"k\tv\r", "k", "v"},  // CRLF files
      {"\t", "", ""},
      {"a\\tb\tc\\nd", "a\tb", "c\nd"},
      {"\\x41\\x6a\t\\0\\r\\\\", "Aj", "\0\r\\"s},
      {"k\tv with spaces ", "k", "v with spaces "},
  };
  for (const Case& c : cases) {
    std::string k, v;
    ASSERT_EQ(ParseTsvRecord(c.line, &k, &v), "") << c.line;
    EXPECT_EQ(k, c.key) << c.line;
    EXPECT_EQ(v, c.value) << c.line;
  }
}

TEST(RecordCodec, TsvRejectsMalformedLines) {
  struct Case {
    std::string line, error_part;
  } cases[] = {
      {"no tab here", "no TAB"},
      {"a\tb\tc", "more than one unescaped TAB"},
      {"a\\q\tb", "unknown escape \\q"},
      {"a\tb\\", "lone backslash"},
      {"a\\x4\tb", "\\x escape"},
      {"a\\xZZ\tb", "\\x escape"},
  };
  for (const Case& c : cases) {
    std::string k, v;
    const std::string error = ParseTsvRecord(c.line, &k, &v);
    EXPECT_NE(error.find(c.error_part), std::string::npos) << c.line << " -> " << error;
  }
}

TEST(RecordCodec, NdjsonRoundTripsEveryByteString) {
  for (const std::string& key : AwkwardStrings()) {
    for (const std::string& value : AwkwardStrings()) {
      std::string line;
      AppendNdjsonRecord(key, value, &line);
      line.pop_back();
      EXPECT_TRUE(IsValidUtf8(line)) << line;
      std::string k, v;
      ASSERT_EQ(ParseNdjsonRecord(line, &k, &v), "") << line;
      EXPECT_EQ(k, key);
      EXPECT_EQ(v, value);
    }
  }
}

TEST(RecordCodec, NdjsonUsesBase64OnlyForInvalidUtf8) {
  std::string line;
  AppendNdjsonRecord("caf\xc3\xa9", "\xff", &line);
  EXPECT_EQ(line, "{\"key\": \"caf\xc3\xa9\", \"value_b64\": \"/w==\"}\n");
}

TEST(RecordCodec, NdjsonParsesJsonForms) {
  struct Case {
    std::string line, key, value;
  } cases[] = {
      {R"({"key": "a", "value": "b"})", "a", "b"},
      {R"(  {"value":"b","key":"a"}  )", "a", "b"},
      {R"({"key": "\u0000\u00e9\ud83d\ude00", "value": "\"\\\/\b\f\n\r\t"})",
       "\0\xc3\xa9\xf0\x9f\x98\x80"s, "\"\\/\b\f\n\r\t"},
      {R"({"key_b64": "AAE=", "value_b64": "/w"})", "\0\1"s, "\xff"},
      {R"({"key": "", "value": ""})", "", ""},
  };
  for (const Case& c : cases) {
    std::string k, v;
    ASSERT_EQ(ParseNdjsonRecord(c.line, &k, &v), "") << c.line;
    EXPECT_EQ(k, c.key) << c.line;
    EXPECT_EQ(v, c.value) << c.line;
  }
}

TEST(RecordCodec, NdjsonRejectsWhatIsNotARecord) {
  struct Case {
    std::string line, error_part;
  } cases[] = {
      {R"(["a", "b"])", "expected a JSON object"},
      {R"({"key": "a"})", "no \"value\""},
      {R"({"value": "a"})", "no \"key\""},
      {R"({"key": "a", "value": 1})", "must be a string"},
      {R"({"key": "a", "value": "b", "extra": "c"})", "unknown member \"extra\""},
      {R"({"key": "a", "key_b64": "YQ==", "value": "b"})", "more than one key"},
      {R"({"key": "a", "value": "b"} x)", "text after the object"},
      {R"({"key": "a", "value": "b")", "expected ',' or '}'"},
      {R"({"key": "\ud800", "value": "b"})", "lone high surrogate"},
      {R"({"key": "\udc00", "value": "b"})", "lone low surrogate"},
      {R"({"key": "\x", "value": "b"})", "unknown escape"},
      {"{\"key\": \"a\xff\", \"value\": \"b\"}", "invalid UTF-8"},
      {"{\"key\": \"a\nb\", \"value\": \"b\"}", "raw control character"},
      {R"({"key_b64": "a!==", "value": "b"})", "not valid base64"},
      {R"({"key": "a", "value": "b)", "unterminated string"},
  };
  for (const Case& c : cases) {
    std::string k, v;
    const std::string error = ParseNdjsonRecord(c.line, &k, &v);
    EXPECT_NE(error.find(c.error_part), std::string::npos) << c.line << " -> " << error;
  }
}

TEST(RecordCodec, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    std::string decoded;
    ASSERT_TRUE(Base64Decode(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, plain);
  }
  std::string decoded;
  EXPECT_FALSE(Base64Decode("Zg=a", &decoded));
  EXPECT_FALSE(Base64Decode("Z", &decoded));
  EXPECT_FALSE(Base64Decode("Zh==", &decoded));  // non-zero leftover bits
}

TEST(RecordCodec, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace rocksfs::kv
