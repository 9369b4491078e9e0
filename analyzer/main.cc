// heapwatch: run programs under the heap profiler and analyze pprof heap profiles.

#include <cstdio>
#include <cstring>
#include <vector>

#include "analyzer/commands.h"

namespace {

struct Verb {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

const std::vector<Verb> kVerbs = {
    {"run", heapwatch::RunCommand, "run a program with the heap profiler preloaded"},
    {"top", heapwatch::TopCommand, "functions of one profile ranked by flat or cum value, like pprof -top"},
    {"diff", heapwatch::DiffCommand, "what changed between two heap profiles, per function and per stack"},
    {"trend", heapwatch::TrendCommand, "classify call sites over a series: leak, plateau, sawtooth, ..."},
    {"check", heapwatch::CheckCommand, "CI gate: fail (exit 1) when a call site leaks beyond the limits"},
    {"symbolize", heapwatch::SymbolizeCommand, "add source files, lines and inlined frames from the binaries' DWARF"},
};

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: heapwatch <verb> [options] [args]\n\n"
               "Heap profiler and leak finder for unmodified Linux programs.\n\nverbs:\n");
  for (const Verb& verb : kVerbs) std::fprintf(out, "  %-10s %s\n", verb.name, verb.summary);
  std::fprintf(out, "\n`heapwatch <verb> --help` describes a verb's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  const char* verb = argv[1];
  if (!std::strcmp(verb, "--help") || !std::strcmp(verb, "-h") || !std::strcmp(verb, "help")) {
    PrintUsage(stdout);
    return 0;
  }
  if (!std::strcmp(verb, "--version")) {
    std::printf("heapwatch %s\n", HEAPWATCH_VERSION);
    return 0;
  }
  for (const Verb& v : kVerbs) {
    if (!std::strcmp(verb, v.name)) return v.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "heapwatch: unknown verb '%s'\n\n", verb);
  PrintUsage(stderr);
  return 2;
}
