// The heapwatch command's verbs that read profiles (top, diff) on bad input:
// every file of tests/corpus/malformed/ must end in exit status 2 and a
// message naming the file, never a crash, a signal or a hang; and on bad
// command lines: usage, exit 2.

#include <filesystem>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analyzer/profile_codec.h"
#include "tests/unit/subprocess.h"
#include "tests/unit/test_profiles.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::RunProcess;

const std::string kHeapwatch = std::string(HEAPWATCH_BINARY_DIR) + "/bin/heapwatch";
const std::string kCorpus = std::string(HEAPWATCH_SOURCE_DIR) + "/tests/corpus";
const std::string kGood = kCorpus + "/valid/small.pb.gz";

ProcessResult Heapwatch(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kHeapwatch};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

void ExpectInputError(const ProcessResult& r, const std::string& verb, const std::string& file) {
  EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.err.starts_with("heapwatch " + verb + ": ")) << r.err;
  EXPECT_NE(r.err.find(file + ": "), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliInputsTest, EveryVerbRefusesEveryMalformedFile) {
  size_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCorpus + "/malformed")) {
    std::string file = entry.path().string();
    if (entry.path().filename() == "README.md") continue;
    SCOPED_TRACE(file);
    ++files;
    ExpectInputError(Heapwatch({"top", file}), "top", file);
    ExpectInputError(Heapwatch({"diff", file, kGood}), "diff", file);
    ExpectInputError(Heapwatch({"diff", kGood, file}), "diff", file);
  }
  EXPECT_GE(files, 20u) << "the corpus is missing: run tools/make_malformed_corpus.py";
}

TEST(CliInputsTest, MissingFilesAndDirectories) {
  std::string missing = kCorpus + "/no-such-profile.pb.gz";
  ExpectInputError(Heapwatch({"top", missing}), "top", missing);
  ExpectInputError(Heapwatch({"diff", kGood, missing}), "diff", missing);
  ExpectInputError(Heapwatch({"top", kCorpus}), "top", kCorpus);
}

TEST(CliInputsTest, GoodInputWorks) {
  ProcessResult top = Heapwatch({"top", kGood});
  EXPECT_TRUE(top.Exited(0)) << top.err;
  EXPECT_NE(top.out.find("leak"), std::string::npos) << top.out;
  ProcessResult diff = Heapwatch({"diff", kGood, kCorpus + "/valid/small.pb"});
  EXPECT_TRUE(diff.Exited(0)) << diff.err;
  EXPECT_NE(diff.out.find("No differences."), std::string::npos) << diff.out;
}

TEST(CliInputsTest, HelpAndBadCommandLines) {
  for (const std::string verb : {"top", "diff"}) {
    SCOPED_TRACE(verb);
    ProcessResult help = Heapwatch({verb, "--help"});
    EXPECT_TRUE(help.Exited(0));
    EXPECT_TRUE(help.out.starts_with("usage: heapwatch " + verb + " ")) << help.out;
    EXPECT_EQ(help.err, "");

    ProcessResult unknown = Heapwatch({verb, "--bogus", kGood});
    EXPECT_TRUE(unknown.Exited(2));
    EXPECT_NE(unknown.err.find("usage: heapwatch " + verb), std::string::npos);
    EXPECT_NE(unknown.err.find("heapwatch " + verb + ": unknown or incomplete option '--bogus'"), std::string::npos)
        << unknown.err;

    ProcessResult no_args = Heapwatch({verb});
    EXPECT_TRUE(no_args.Exited(2));
    EXPECT_EQ(no_args.out, "");

    ProcessResult bad_count = Heapwatch({verb, "--nodecount=-1", kGood, kGood});
    EXPECT_TRUE(bad_count.Exited(2));
    EXPECT_NE(bad_count.err.find("--nodecount wants a number, got '-1'"), std::string::npos) << bad_count.err;
  }
  ProcessResult format = Heapwatch({"diff", "--format=xml", kGood, kGood});
  EXPECT_TRUE(format.Exited(2));
  EXPECT_NE(format.err.find("--format wants text or json, got 'xml'"), std::string::npos) << format.err;
  ProcessResult index = Heapwatch({"top", "--sample_index=cpu", kGood});
  EXPECT_TRUE(index.Exited(2));
  EXPECT_NE(index.err.find(kGood + ": no sample type 'cpu'"), std::string::npos) << index.err;
  ProcessResult listed = Heapwatch({"--help"});
  EXPECT_TRUE(listed.Exited(0));
  EXPECT_NE(listed.out.find("  top "), std::string::npos);
  EXPECT_NE(listed.out.find("  diff "), std::string::npos);
}

TEST(CliInputsTest, DiffJsonSurvivesNamesThatAreNotUtf8) {
  // Names and paths in profiles are bytes; JSON must be UTF-8.
  std::string dir = testing::FreshTestDir("cli_utf8");
  Profile base = testing::ProfileBuilder(testing::InuseTypes()).Add({"caf\xe9", "main"}, {100, 1}).profile();
  Profile current = testing::ProfileBuilder(testing::InuseTypes()).Add({"caf\xe9", "main"}, {300, 2}).profile();
  ASSERT_TRUE(WriteProfileFile(base, dir + "/base.pb.gz").ok());
  ASSERT_TRUE(WriteProfileFile(current, dir + "/new.pb.gz").ok());
  ProcessResult r = Heapwatch({"diff", "--format=json", dir + "/base.pb.gz", dir + "/new.pb.gz"});
  ASSERT_TRUE(r.Exited(0)) << r.err;
  nlohmann::json json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["functions"][0]["name"], "caf\xef\xbf\xbd");  // U+FFFD, the replacement character
  EXPECT_EQ(json["functions"][0]["site"]["delta"]["inuse_space"], 200);
  ProcessResult text = Heapwatch({"diff", dir + "/base.pb.gz", dir + "/new.pb.gz"});
  ASSERT_TRUE(text.Exited(0)) << text.err;
  EXPECT_NE(text.out.find("caf\xe9"), std::string::npos);  // text passes the bytes through
}

TEST(CliInputsTest, IncompatibleProfilesAreAnInputError) {
  std::string dir = testing::FreshTestDir("cli_incompatible");
  Profile cpu = testing::ProfileBuilder(std::vector<ValueType>{{"samples", "count"}, {"cpu", "nanoseconds"}})
                    .Add({"main"}, {1, 1000})
                    .profile();
  ASSERT_TRUE(WriteProfileFile(cpu, dir + "/cpu.pb.gz").ok());
  ProcessResult r = Heapwatch({"diff", dir + "/cpu.pb.gz", kGood});
  EXPECT_TRUE(r.Exited(2));
  EXPECT_NE(r.err.find("incompatible profiles: no common heap sample type"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir + "/cpu.pb.gz vs " + kGood), std::string::npos) << r.err;
  // top reads any profile.
  ProcessResult top = Heapwatch({"top", dir + "/cpu.pb.gz"});
  EXPECT_TRUE(top.Exited(0)) << top.err;
  EXPECT_NE(top.out.find("Type: cpu (nanoseconds)"), std::string::npos) << top.out;
}

}  // namespace
}  // namespace heapwatch
