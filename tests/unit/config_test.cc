#include "preload/config.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

std::map<std::string, std::string> g_env;

const char* FakeGetenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

// Loads a config from `env`, returning what went to stderr.
std::string Load(std::map<std::string, std::string> env, Config* config) {
  g_env = std::move(env);
  testing::internal::CaptureStderr();
  LoadConfig(FakeGetenv, config);
  return testing::internal::GetCapturedStderr();
}

TEST(ConfigTest, DefaultsWithEmptyEnvironment) {
  Config config;
  EXPECT_EQ(Load({}, &config), "");
  EXPECT_EQ(config.sample_rate, 524288);
  EXPECT_EQ(config.stack_depth, 64);
  EXPECT_EQ(config.interval_nanos, 10'000'000'000);
  EXPECT_STREQ(config.output_dir, "");
  EXPECT_TRUE(config.profile_children);
}

TEST(ConfigTest, ReadsEveryVariable) {
  Config config;
  EXPECT_EQ(Load({{"HEAPWATCH_RATE", "64k"},
                  {"HEAPWATCH_DEPTH", "128"},
                  {"HEAPWATCH_INTERVAL", "0.25"},
                  {"HEAPWATCH_OUT", "/tmp/x"},
                  {"HEAPWATCH_CHILDREN", "0"}},
                 &config),
            "");
  EXPECT_EQ(config.sample_rate, 65536);
  EXPECT_EQ(config.stack_depth, 128);
  EXPECT_EQ(config.interval_nanos, 250'000'000);
  EXPECT_STREQ(config.output_dir, "/tmp/x");
  EXPECT_FALSE(config.profile_children);
}

TEST(ConfigTest, EachBadValueWarnsOnceAndFallsBack) {
  struct Case {
    const char* name;
    const char* value;
  } cases[] = {{"HEAPWATCH_RATE", "abc"},     {"HEAPWATCH_RATE", "0"},         {"HEAPWATCH_RATE", "-5"},
               {"HEAPWATCH_RATE", "12q"},     {"HEAPWATCH_RATE", "99999999999999999999"},
               {"HEAPWATCH_DEPTH", "0"},      {"HEAPWATCH_DEPTH", "257"},     {"HEAPWATCH_DEPTH", "8k"},
               {"HEAPWATCH_INTERVAL", "x"},   {"HEAPWATCH_INTERVAL", "-1"},   {"HEAPWATCH_INTERVAL", "1."},
               {"HEAPWATCH_INTERVAL", "1e3"}, {"HEAPWATCH_CHILDREN", "maybe"}, {"HEAPWATCH_QUIET", "2"}};
  for (const Case& c : cases) {
    Config config;
    std::string err = Load({{c.name, c.value}}, &config);
    EXPECT_NE(err.find(c.name), std::string::npos) << c.name << "=" << c.value << ": " << err;
    EXPECT_NE(err.find(std::string("'") + c.value + "'"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.rfind("heapwatch: ", 0), 0u) << err;
    Config defaults;
    EXPECT_EQ(config.sample_rate, defaults.sample_rate);
    EXPECT_EQ(config.stack_depth, defaults.stack_depth);
    EXPECT_EQ(config.interval_nanos, defaults.interval_nanos);
    EXPECT_EQ(config.profile_children, defaults.profile_children);
  }
}

TEST(ConfigTest, QuietSilencesTheWarnings) {
  Config config;
  EXPECT_EQ(Load({{"HEAPWATCH_QUIET", "1"}, {"HEAPWATCH_RATE", "bad"}}, &config), "");
  EXPECT_TRUE(config.quiet);
  EXPECT_NE(Load({{"HEAPWATCH_RATE", "bad"}}, &config), "");  // and loud again without it
}

TEST(ConfigTest, TooLongOutputDirectoryIsRefused) {
  Config config;
  std::string err = Load({{"HEAPWATCH_OUT", std::string(kMaxPathLength + 10, 'a')}}, &config);
  EXPECT_NE(err.find("HEAPWATCH_OUT"), std::string::npos);
  EXPECT_STREQ(config.output_dir, "");
}

TEST(ConfigParsersTest, Seconds) {
  int64_t nanos = -1;
  EXPECT_TRUE(ParseSeconds("0", &nanos));
  EXPECT_EQ(nanos, 0);
  EXPECT_TRUE(ParseSeconds("10", &nanos));
  EXPECT_EQ(nanos, 10'000'000'000);
  EXPECT_TRUE(ParseSeconds("1.5", &nanos));
  EXPECT_EQ(nanos, 1'500'000'000);
  EXPECT_TRUE(ParseSeconds("0.0000000019", &nanos));  // beyond nanoseconds: truncated
  EXPECT_EQ(nanos, 1);
  EXPECT_FALSE(ParseSeconds("", &nanos));
  EXPECT_FALSE(ParseSeconds(".5", &nanos));
  EXPECT_FALSE(ParseSeconds("100001", &nanos));
  EXPECT_FALSE(ParseSeconds(nullptr, &nanos));
}

TEST(ConfigParsersTest, ByteCountsAndFlags) {
  int64_t n = 0;
  EXPECT_TRUE(ParseByteCount("1", 1, 100, &n));
  EXPECT_EQ(n, 1);
  EXPECT_TRUE(ParseByteCount("2M", 1, int64_t{1} << 40, &n));
  EXPECT_EQ(n, 2 << 20);
  EXPECT_TRUE(ParseByteCount("1g", 1, int64_t{1} << 40, &n));
  EXPECT_EQ(n, int64_t{1} << 30);
  // The upper bound HEAPWATCH_RATE's message names is itself accepted.
  EXPECT_TRUE(ParseByteCount("1T", 1, int64_t{1} << 40, &n));
  EXPECT_EQ(n, int64_t{1} << 40);
  EXPECT_FALSE(ParseByteCount("2t", 1, int64_t{1} << 40, &n));
  EXPECT_FALSE(ParseByteCount("2kk", 1, int64_t{1} << 40, &n));
  EXPECT_FALSE(ParseByteCount("k", 1, int64_t{1} << 40, &n));
  EXPECT_FALSE(ParseByteCount("9223372036854775807k", 1, INT64_MAX, &n));
  bool flag = false;
  EXPECT_TRUE(ParseFlag("YES", &flag));
  EXPECT_TRUE(flag);
  EXPECT_TRUE(ParseFlag("off", &flag));
  EXPECT_FALSE(flag);
  EXPECT_FALSE(ParseFlag("", &flag));
}

}  // namespace
}  // namespace heapwatch
