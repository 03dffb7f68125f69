#include "kv/record_codec.h"

#include <array>
#include <cstdint>

namespace rocksfs::kv {

namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The length of the valid UTF-8 sequence at bytes[i], or 0 if none starts there.
size_t Utf8SequenceLength(std::string_view bytes, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  uint32_t min;
  uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > bytes.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendHexEscape(unsigned char byte, std::string* out) {
  out->push_back('\\');
  out->push_back('x');
  out->push_back(kHexDigits[byte >> 4]);
  out->push_back(kHexDigits[byte & 0xF]);
}

std::string UnescapeTsvField(std::string_view field, const char* which, std::string* out) {
  out->clear();
  out->reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i + 1 >= field.size()) return std::string("the ") + which + " ends in a lone backslash";
    const char e = field[++i];
    switch (e) {
      case '\\': out->push_back('\\'); break;
      case 't': out->push_back('\t'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case '0': out->push_back('\0'); break;
      case 'x': {
        const int hi = i + 1 < field.size() ? HexValue(field[i + 1]) : -1;
        const int lo = i + 2 < field.size() ? HexValue(field[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          return std::string("bad \\x escape in the ") + which + " (need two hex digits)";
        }
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default: {
        std::string shown = (static_cast<unsigned char>(e) >= 0x20 && e != 0x7f)
                                ? std::string(1, e)
                                : "\\x" + std::string{kHexDigits[(e >> 4) & 0xF], kHexDigits[e & 0xF]};
        return std::string("unknown escape \\") + shown + " in the " + which +
               " (known: \\\\ \\t \\n \\r \\0 \\xHH)";
      }
    }
  }
  return "";
}

// --- JSON ---

void AppendUtf8(uint32_t cp, std::string* out) {
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

// A cursor over one NDJSON line.
class JsonLine {
 public:
  explicit JsonLine(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  size_t column() const { return pos_ + 1; }

  // Parses a JSON string at the cursor into its UTF-8 bytes.
  std::string ParseString(std::string* out) {
    out->clear();
    if (!Consume('"')) return "expected a string" + At();
    while (true) {
      if (pos_ >= text_.size()) return "unterminated string";
      const char c = text_[pos_];
      const auto b = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return "";
      }
      if (b < 0x20) return "raw control character in a string" + At() + " (escape it)";
      if (c != '\\') {
        const size_t n = Utf8SequenceLength(text_, pos_);
        if (n == 0) return "invalid UTF-8 in a string" + At() + " (use key_b64/value_b64 for binary)";
        out->append(text_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      if (++pos_ >= text_.size()) return "unterminated string";
      const char e = text_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!ParseHex4(&cp)) return "bad \\u escape" + At();
          if (cp >= 0xDC00 && cp <= 0xDFFF) return "lone low surrogate" + At();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (pos_ + 1 >= text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
              return "lone high surrogate" + At();
            }
            pos_ += 2;
            if (!ParseHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return "bad surrogate pair" + At();
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return std::string("unknown escape \\") + e + At();
      }
    }
  }

 private:
  bool ParseHex4(uint32_t* cp) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = HexValue(text_[pos_ + k]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    *cp = v;
    return true;
  }
  std::string At() const { return " at column " + std::to_string(pos_ + 1); }

  std::string_view text_;
  size_t pos_ = 0;
};

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (b < 0x20) {
          out->append("\\u00");
          out->push_back(kHexDigits[b >> 4]);
          out->push_back(kHexDigits[b & 0xF]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendTsvField(std::string_view field, std::string* out) {
  for (size_t i = 0; i < field.size();) {
    const char c = field[i];
    const auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '\\': out->append("\\\\"); ++i; continue;
      case '\t': out->append("\\t"); ++i; continue;
      case '\n': out->append("\\n"); ++i; continue;
      case '\r': out->append("\\r"); ++i; continue;
      case '\0': out->append("\\0"); ++i; continue;
      default: break;
    }
    if (b < 0x20 || b == 0x7f) {
      AppendHexEscape(b, out);
      ++i;
    } else if (b < 0x80) {
      out->push_back(c);
      ++i;
    } else if (const size_t n = Utf8SequenceLength(field, i); n > 0) {
      out->append(field.substr(i, n));
      i += n;
    } else {
      AppendHexEscape(b, out);
      ++i;
    }
  }
}

void AppendTsvRecord(std::string_view key, std::string_view value, std::string* out) {
  AppendTsvField(key, out);
  out->push_back('\t');
  AppendTsvField(value, out);
  out->push_back('\n');
}

std::string ParseTsvRecord(std::string_view line, std::string* key, std::string* value) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return "no TAB between key and value";
  if (line.find('\t', tab + 1) != std::string_view::npos) {
    return "more than one unescaped TAB (escape TABs in keys and values as \\t)";
  }
  std::string error = UnescapeTsvField(line.substr(0, tab), "key", key);
  if (!error.empty()) return error;
  return UnescapeTsvField(line.substr(tab + 1), "value", value);
}

void AppendNdjsonRecord(std::string_view key, std::string_view value, std::string* out) {
  out->push_back('{');
  if (IsValidUtf8(key)) {
    out->append("\"key\": ");
    AppendJsonString(key, out);
  } else {
    out->append("\"key_b64\": \"");
    out->append(Base64Encode(key));
    out->push_back('"');
  }
  if (IsValidUtf8(value)) {
    out->append(", \"value\": ");
    AppendJsonString(value, out);
  } else {
    out->append(", \"value_b64\": \"");
    out->append(Base64Encode(value));
    out->push_back('"');
  }
  out->append("}\n");
}

std::string ParseNdjsonRecord(std::string_view line, std::string* key, std::string* value) {
  JsonLine json(line);
  if (!json.Consume('{')) return "expected a JSON object {\"key\": ..., \"value\": ...}";
  bool have_key = false;
  bool have_value = false;
  std::string name;
  std::string text;
  if (json.Peek() != '}') {
    while (true) {
      std::string error = json.ParseString(&name);
      if (!error.empty()) return error;
      if (!json.Consume(':')) return "expected ':' after \"" + name + "\"";
      if (json.Peek() != '"') return "the member \"" + name + "\" must be a string";
      error = json.ParseString(&text);
      if (!error.empty()) return error;
      const bool is_key = name == "key" || name == "key_b64";
      const bool is_value = name == "value" || name == "value_b64";
      if (!is_key && !is_value) {
        return "unknown member \"" + name + "\" (only key, key_b64, value, value_b64)";
      }
      bool& have = is_key ? have_key : have_value;
      if (have) return std::string("more than one ") + (is_key ? "key" : "value");
      have = true;
      std::string* out = is_key ? key : value;
      if (name.ends_with("_b64")) {
        if (!Base64Decode(text, out)) return "\"" + name + "\" is not valid base64";
      } else {
        *out = std::move(text);
      }
      if (json.Consume(',')) continue;
      break;
    }
  }
  if (!json.Consume('}')) return "expected ',' or '}' at column " + std::to_string(json.column());
  json.SkipSpace();
  if (!json.AtEnd()) return "text after the object at column " + std::to_string(json.column());
  if (!have_key) return "no \"key\" (or \"key_b64\") member";
  if (!have_value) return "no \"value\" (or \"value_b64\") member";
  return "";
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* bytes) {
  static const std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
    return table;
  }();
  bytes->clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  bytes->reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = kTable[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, so that every byte string has one encoding.
  return (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace rocksfs::kv
