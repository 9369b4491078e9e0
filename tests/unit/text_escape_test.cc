#include "analyzer/text_escape.h"

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

constexpr const char* kFffd = "\xEF\xBF\xBD";

TEST(ValidUtf8Test, ReplacesWhatIsNotUtf8) {
  EXPECT_EQ(ValidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(ValidUtf8("a\xFF" "b"), std::string("a") + kFffd + "b");
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), std::string(kFffd) + kFffd);          // overlong '/'
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), std::string(kFffd) + kFffd + kFffd);  // a surrogate
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80").substr(0, 3), kFffd);          // past U+10FFFF
  EXPECT_EQ(ValidUtf8("\xE2\x82"), std::string(kFffd) + kFffd);          // cut short
  EXPECT_EQ(ValidUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");          // 4 bytes
}

TEST(XmlEscapeTest, EntitiesAndForbiddenCharacters) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("tab\tline\n"), "tab\tline\n");
  EXPECT_EQ(XmlEscape("bell\x07"), "bell?");
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBF"), "?");  // U+FFFF is not an XML character
  EXPECT_EQ(XmlEscape("\xFF"), kFffd);
}

TEST(MarkdownTest, CodeAndTextCells) {
  EXPECT_EQ(MarkdownCode("Cache::Insert"), "`Cache::Insert`");
  EXPECT_EQ(MarkdownCode("a|b"), "`a\\|b`");
  EXPECT_EQ(MarkdownCode("a`b"), "``a`b``");
  EXPECT_EQ(MarkdownCode("`edge"), "`` `edge ``");
  EXPECT_EQ(MarkdownCode("two\nlines"), "`two lines`");
  EXPECT_EQ(MarkdownText("a|b *c* _d_ <e>"), "a\\|b \\*c\\* \\_d\\_ \\<e\\>");
  EXPECT_EQ(MarkdownText("+9.50 MiB"), "+9.50 MiB");
}

}  // namespace
}  // namespace heapwatch
