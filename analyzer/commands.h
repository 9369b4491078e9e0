// The verbs of the `heapwatch` command. Each takes the arguments after the
// verb (argv[0] is the verb itself) and returns the process exit status:
// 0 success, 1 the verb's negative verdict (e.g. check found a leak),
// 2 usage or input error.

#ifndef HEAPWATCH_ANALYZER_COMMANDS_H_
#define HEAPWATCH_ANALYZER_COMMANDS_H_

namespace heapwatch {

int RunCommand(int argc, char** argv);        // run a program under the preload
int TopCommand(int argc, char** argv);        // quick text view of one profile
int DiffCommand(int argc, char** argv);       // two snapshots
int TrendCommand(int argc, char** argv);      // classify call sites over a series
int CheckCommand(int argc, char** argv);      // the CI gate
int SymbolizeCommand(int argc, char** argv);  // fill in functions and lines

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_COMMANDS_H_
