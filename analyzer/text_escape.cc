// Implementation of text_escape.h.

#include "analyzer/text_escape.h"

#include <algorithm>
#include <cstdint>

namespace heapwatch {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes the UTF-8 sequence at text[i]: its length and code point, or
// length 0 when it is not valid UTF-8 (RFC 3629).
struct Decoded {
  size_t length = 0;
  uint32_t code_point = 0;
};

Decoded Decode(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return {1, lead};
  size_t length;
  uint32_t code_point, minimum;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code_point = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code_point = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code_point = lead & 0x07, minimum = 0x10000;
  } else {
    return {};
  }
  if (i + length > text.size()) return {};
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {};
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return {};
  return {length, code_point};
}

std::string OneLine(std::string_view text) {
  std::string out = ValidUtf8(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

}  // namespace

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    Decoded d = Decode(text, i);
    if (d.length == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, d.length));
      i += d.length;
    }
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    Decoded d = Decode(text, i);
    if (d.length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    uint32_t c = d.code_point;
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c == '\'') {
      out += "&apos;";
    } else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0xFFFE || c == 0xFFFF) {
      out += '?';
    } else {
      out.append(text.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

std::string MarkdownCode(std::string_view text) {
  std::string body = OneLine(text);
  // Inside a table even code spans end at an unescaped pipe (GFM).
  std::string escaped;
  size_t longest = 0, run = 0;
  for (char c : body) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
    if (c == '|') escaped += '\\';
    escaped += c;
  }
  std::string fence(longest + 1, '`');
  // A space keeps a leading or trailing backtick from joining the fence.
  bool pad = !escaped.empty() && (escaped.front() == '`' || escaped.back() == '`');
  return fence + (pad ? " " : "") + escaped + (pad ? " " : "") + fence;
}

std::string MarkdownText(std::string_view text) {
  std::string out;
  for (char c : OneLine(text)) {
    // Inside a cell only these start formatting or end the cell.
    if (std::string_view("\\`*_[]<>|~").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace heapwatch
