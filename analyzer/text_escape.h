// Escaping names that come from profiles (untrusted bytes) for the XML and
// Markdown reports.

#ifndef HEAPWATCH_ANALYZER_TEXT_ESCAPE_H_
#define HEAPWATCH_ANALYZER_TEXT_ESCAPE_H_

#include <string>
#include <string_view>

namespace heapwatch {

// `text` with every byte sequence that is not valid UTF-8 (overlong forms,
// surrogates, code points past U+10FFFF, stray bytes) replaced by U+FFFD.
std::string ValidUtf8(std::string_view text);

// Text or attribute content for XML 1.0: valid UTF-8, the five special
// characters as entities, and the characters XML 1.0 forbids even escaped
// (controls other than tab and newline, U+FFFE, U+FFFF) replaced by '?'.
std::string XmlEscape(std::string_view text);

// One Markdown table cell as inline code: no newline, pipes escaped, and a
// backtick fence longer than any run of backticks inside.
std::string MarkdownCode(std::string_view text);

// One Markdown table cell as plain text: no newline, and the characters
// that would start formatting or end the cell escaped with a backslash.
std::string MarkdownText(std::string_view text);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_TEXT_ESCAPE_H_
