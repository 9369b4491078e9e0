#include "preload/environment.h"

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

std::multiset<std::string> Entries() {
  std::multiset<std::string> entries;
  for (char** e = environ; *e != nullptr; ++e) entries.insert(*e);
  return entries;
}

TEST(EnvironmentTest, AddsAndReplacesKeepingTheRest) {
  ASSERT_EQ(setenv("HEAPWATCH_ENV_TEST_OTHER", "kept", 1), 0);
  unsetenv("HEAPWATCH_ENV_TEST");
  std::multiset<std::string> before = Entries();
  ASSERT_TRUE(SetEnvironmentVariable("HEAPWATCH_ENV_TEST", "first"));
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST"), "first");
  ASSERT_TRUE(SetEnvironmentVariable("HEAPWATCH_ENV_TEST", "/a/longer/second/value"));
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST"), "/a/longer/second/value");
  std::multiset<std::string> after = Entries();
  EXPECT_EQ(after.count("HEAPWATCH_ENV_TEST=/a/longer/second/value"), 1u);
  after.erase("HEAPWATCH_ENV_TEST=/a/longer/second/value");
  EXPECT_EQ(after, before) << "every other entry, once, unchanged";
  // A prefix of our name is another variable.
  ASSERT_TRUE(SetEnvironmentVariable("HEAPWATCH_ENV", "short"));
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST"), "/a/longer/second/value");
  EXPECT_STREQ(getenv("HEAPWATCH_ENV"), "short");
  unsetenv("HEAPWATCH_ENV");
}

// glibc's own functions keep working on an array it did not allocate.
TEST(EnvironmentTest, GlibcFunctionsWorkAfterwards) {
  ASSERT_TRUE(SetEnvironmentVariable("HEAPWATCH_ENV_TEST", "ours"));
  ASSERT_EQ(setenv("HEAPWATCH_ENV_TEST_GLIBC", "theirs", 1), 0);
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST"), "ours");
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST_GLIBC"), "theirs");
  ASSERT_EQ(setenv("HEAPWATCH_ENV_TEST", "replaced by glibc", 1), 0);
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST"), "replaced by glibc");
  ASSERT_TRUE(SetEnvironmentVariable("HEAPWATCH_ENV_TEST", "ours again"));
  ASSERT_EQ(unsetenv("HEAPWATCH_ENV_TEST_GLIBC"), 0);
  EXPECT_EQ(getenv("HEAPWATCH_ENV_TEST_GLIBC"), nullptr);
  static char put[] = "HEAPWATCH_ENV_TEST_PUT=1";
  ASSERT_EQ(putenv(put), 0);
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST_PUT"), "1");
  EXPECT_STREQ(getenv("HEAPWATCH_ENV_TEST"), "ours again");
  unsetenv("HEAPWATCH_ENV_TEST_PUT");
  ASSERT_EQ(unsetenv("HEAPWATCH_ENV_TEST"), 0);
  EXPECT_EQ(getenv("HEAPWATCH_ENV_TEST"), nullptr);
}

TEST(EnvironmentTest, ChildrenSeeIt) {
  ASSERT_TRUE(SetEnvironmentVariable("HEAPWATCH_ENV_TEST", "for the child"));
  pid_t pid;
  const char* argv[] = {"/bin/sh", "-c", "test \"$HEAPWATCH_ENV_TEST\" = 'for the child'", nullptr};
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unsetenv("HEAPWATCH_ENV_TEST");
}

}  // namespace
}  // namespace heapwatch
