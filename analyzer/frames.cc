#include "analyzer/frames.h"

#include <array>
#include <cinttypes>
#include <cctype>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace heapwatch {
namespace {

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// The symbol of an operator, longest first so "<<=" wins over "<<" and "<".
constexpr std::array<std::string_view, 40> kOperatorSymbols = {
    "<<=", ">>=", "->*", "<=>", "()", "[]", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
    "++",  "--",  "->",  "+=",  "-=", "*=", "/=", "%=", "^=", "&=", "|=", "<",  ">",  "=",
    "!",   "+",   "-",   "*",   "/",  "%",  "^",  "&",  "|",  "~",  ",",  "\"\""};

// Copies the operator name that starts at name[i] (just after the word
// "operator") to *out and returns the index after it.
size_t CopyOperatorName(std::string_view name, size_t i, std::string* out) {
  for (std::string_view symbol : kOperatorSymbols) {
    if (name.substr(i, symbol.size()) == symbol) {
      out->append(symbol);
      return i + symbol.size();
    }
  }
  // "operator new[]", "operator delete", or a conversion ("operator bool"):
  // a space, then words up to the parameter list.
  while (i < name.size() && name[i] != '(') out->push_back(name[i++]);
  return i;
}

// Skips the balanced bracket group that opens at name[i]; returns the index
// after its closing bracket (or the end of the name if it never closes).
size_t SkipGroup(std::string_view name, size_t i, char open, char close) {
  int depth = 0;
  for (; i < name.size(); ++i) {
    if (name[i] == open) ++depth;
    if (name[i] == close && --depth == 0) return i + 1;
  }
  return name.size();
}

bool Contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool LooksLikeCxx(std::string_view name) {
  return Contains(name, "::") || name.ends_with(")") || name.ends_with(" const") || Contains(name, "operator") ||
         Contains(name, " [clone ");
}

}  // namespace

std::string ShortFunctionName(std::string_view name) {
  if (!LooksLikeCxx(name)) return std::string(name);
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    char c = name[i];
    bool word_start = i == 0 || name[i - 1] == ':' || name[i - 1] == ' ';
    if (name.substr(i, 21) == "(anonymous namespace)") {
      out.append("(anonymous namespace)");
      i += 21;
    } else if (word_start && name.substr(i, 8) == "operator" &&
               (i + 8 == name.size() || !(std::isalnum(static_cast<unsigned char>(name[i + 8])) || name[i + 8] == '_'))) {
      out.append("operator");
      i = CopyOperatorName(name, i + 8, &out);
      // A template operator's arguments follow after a space
      // ("std::operator<< <std::char_traits<char> >(...)"): skip to them.
      if (name.substr(i, 2) == " <") ++i;
    } else if (c == '<') {
      i = SkipGroup(name, i, '<', '>');
    } else if (c == '(') {
      i = SkipGroup(name, i, '(', ')');
      // Qualifiers after a parameter list belong to the signature.
      for (std::string_view qualifier : {" const", " volatile", " &&", " &"}) {
        if (name.substr(i, qualifier.size()) == qualifier) i += qualifier.size();
      }
    } else if (c == '[') {
      // "[abi:cxx11]" tags and " [clone .cold]" suffixes.
      i = SkipGroup(name, i, '[', ']');
    } else if (c == '{') {
      size_t end = SkipGroup(name, i, '{', '}');
      out.append(name.substr(i, end - i));  // "{lambda(int)#1}" names a lambda
      i = end;
    } else if (c == ' ') {
      // A space outside any bracket ends a return type ("void ns::f"), or
      // starts a suffix such as " [clone .cold]".
      if (i + 1 < name.size() && name[i + 1] == '[') {
        ++i;
      } else {
        out.clear();
        ++i;
      }
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out.empty() ? std::string(name) : out;
}

std::vector<Frame> StackFrames(const Profile& profile, const Sample& sample) {
  std::vector<Frame> frames;
  frames.reserve(sample.locations.size());
  for (size_t location_index : sample.locations) {
    const Location& location = profile.locations[location_index];
    const Mapping* mapping = location.mapping ? &profile.mappings[*location.mapping] : nullptr;
    std::string object = mapping ? BaseName(mapping->filename) : std::string();
    bool named = false;
    for (const Line& line : location.lines) {
      const Function& function = profile.functions[line.function];
      const std::string& name = function.name.empty() ? function.system_name : function.name;
      if (name.empty()) continue;
      frames.push_back({ShortFunctionName(name), object});
      named = true;
    }
    if (named) continue;
    if (mapping && !object.empty() && location.address >= mapping->memory_start) {
      uint64_t offset = location.address - mapping->memory_start + mapping->file_offset;
      frames.push_back({absl::StrFormat("%s+0x%x", object, offset), object});
    } else {
      frames.push_back({absl::StrFormat("0x%x", location.address), object});
    }
  }
  return frames;
}

bool IsAllocatorFrame(const Frame& frame) {
  // Runtime libraries: whatever runs inside them on the way to the heap.
  static constexpr std::string_view kRuntimeObjects[] = {
      "libc.so",    "libc-",      "libstdc++.so", "libc++.so",       "libc++abi.so", "libgcc_s.so",
      "ld-linux",   "libpthread", "libm.so",      "libheapwatch.so", "libjemalloc",  "libtcmalloc",
      "libunwind.so"};
  for (std::string_view prefix : kRuntimeObjects) {
    if (frame.object.starts_with(prefix)) return true;
  }
  const std::string& name = frame.name;
  static constexpr std::string_view kPlumbingPrefixes[] = {
      "operator new", "operator delete", "std::", "__gnu_cxx::", "__cxxabiv1::", "__cxa_", "heapwatch::",
      "heapwatch_",   "runtime.",        "__libc_", "_IO_",      "__GI_",        "_int_",  "__strdup",
      "__fopen",      "__vasprintf",     "__posix_memalign"};
  for (std::string_view prefix : kPlumbingPrefixes) {
    if (name.starts_with(prefix)) return true;
  }
  // C library functions that allocate on the caller's behalf, for profiles
  // whose frames carry names but no mappings.
  static constexpr std::string_view kAllocatingFunctions[] = {
      "malloc",  "calloc", "realloc", "reallocarray", "free",     "memalign", "posix_memalign",
      "aligned_alloc", "valloc", "pvalloc", "strdup", "strndup", "fopen",  "fopen64", "fdopen",
      "open_memstream", "getline", "getdelim", "asprintf", "vasprintf"};
  for (std::string_view function : kAllocatingFunctions) {
    if (name == function) return true;
  }
  return false;
}

size_t FirstUserFrame(const std::vector<Frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!IsAllocatorFrame(frames[i])) return i;
  }
  return 0;
}

}  // namespace heapwatch
