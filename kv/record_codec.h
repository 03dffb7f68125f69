// Text encodings of key/value records, for `rocksfs load` and `rocksfs dump`.
//
// TSV: one record per line, KEY<TAB>VALUE<LF>. Both fields are escaped:
//   \\  backslash      \t  TAB       \n  LF       \r  CR       \0  NUL
//   \xHH  any byte (two hex digits, either case)
// Any other byte stands for itself, except unescaped TAB (exactly one per
// record, the separator) and LF (the end of the record). A backslash before
// any other character is an error. Writers escape the five named bytes by
// name, every other control byte, DEL and every byte of invalid UTF-8 as
// \xHH, and leave valid UTF-8 as it is, so their output is UTF-8 text.
//
// NDJSON: one JSON object per line, with exactly two members:
//   {"key": "...", "value": "..."}
// A string member holds the bytes of its text as UTF-8 (so "\u0000" is a NUL
// byte and "\u00e9" the two bytes C3 A9); "key_b64" / "value_b64" hold any
// bytes as standard base64 (RFC 4648, padding optional on input) and replace
// "key" / "value". Other members, non-string values, invalid UTF-8 and lone
// surrogates are errors. Writers use "key"/"value" for valid UTF-8 and the
// _b64 members otherwise.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace rocksfs::kv {

// Appends the TSV escaping of `field` to *out.
void AppendTsvField(std::string_view field, std::string* out);
// Appends "KEY\tVALUE\n" to *out.
void AppendTsvRecord(std::string_view key, std::string_view value, std::string* out);
// Parses one line (without its LF; one trailing CR is dropped, so CRLF files
// load). Returns "" and fills *key, *value, or a one-line error message
// (without a position).
std::string ParseTsvRecord(std::string_view line, std::string* key, std::string* value);

// Appends {"key": ..., "value": ...}\n to *out.
void AppendNdjsonRecord(std::string_view key, std::string_view value, std::string* out);
// Parses one line. Returns "" and fills *key, *value, or an error message.
std::string ParseNdjsonRecord(std::string_view line, std::string* key, std::string* value);

// Appends `text` as a JSON string literal (quotes, escapes for '"', '\\' and
// control bytes). Bytes >= 0x80 pass through: valid JSON only for UTF-8.
void AppendJsonString(std::string_view text, std::string* out);

// True when `bytes` is valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool IsValidUtf8(std::string_view bytes);
// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);
// Accepts input with or without padding; returns false on anything else.
bool Base64Decode(std::string_view text, std::string* bytes);

}  // namespace rocksfs::kv
