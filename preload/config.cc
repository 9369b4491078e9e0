#include "preload/config.h"

#include <cstring>

#include "preload/diagnostics.h"

namespace heapwatch {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The largest interval we accept: a day and a bit, far beyond any use, and
// small enough that nanoseconds never overflow.
constexpr int64_t kMaxIntervalSeconds = 100'000;

// Reads a run of decimal digits into *n; returns the first character after
// it, or nullptr if there are no digits or the number overflows.
const char* ParseDigits(const char* text, int64_t* n) {
  if (text == nullptr || !IsDigit(*text)) return nullptr;
  *n = 0;
  for (; IsDigit(*text); ++text) {
    if (*n > (INT64_MAX - 9) / 10) return nullptr;
    *n = *n * 10 + (*text - '0');
  }
  return text;
}

}  // namespace

bool ParseInteger(const char* text, int64_t min, int64_t max, int64_t* value) {
  int64_t n = 0;
  text = ParseDigits(text, &n);
  if (text == nullptr || *text != '\0' || n < min || n > max) return false;
  *value = n;
  return true;
}

bool ParseByteCount(const char* text, int64_t min, int64_t max, int64_t* value) {
  int64_t n = 0;
  text = ParseDigits(text, &n);
  if (text == nullptr) return false;
  int shift = 0;
  switch (*text) {
    case '\0': break;
    case 'k': case 'K': shift = 10; ++text; break;
    case 'm': case 'M': shift = 20; ++text; break;
    case 'g': case 'G': shift = 30; ++text; break;
    case 't': case 'T': shift = 40; ++text; break;
    default: return false;
  }
  if (*text != '\0' || n > (INT64_MAX >> shift)) return false;
  n <<= shift;
  if (n < min || n > max) return false;
  *value = n;
  return true;
}

bool ParseSeconds(const char* text, int64_t* nanos) {
  int64_t seconds = 0;
  text = ParseDigits(text, &seconds);
  if (text == nullptr || seconds > kMaxIntervalSeconds) return false;
  int64_t fraction = 0;  // nanoseconds
  if (*text == '.') {
    ++text;
    if (!IsDigit(*text)) return false;
    int64_t scale = 100'000'000;
    for (; IsDigit(*text); ++text) {
      fraction += (*text - '0') * scale;  // digits past nanoseconds add 0
      scale /= 10;
    }
  }
  if (*text != '\0') return false;
  *nanos = seconds * 1'000'000'000 + fraction;
  return true;
}

bool ParseFlag(const char* text, bool* value) {
  if (text == nullptr) return false;
  static constexpr const char* kTrue[] = {"1", "true", "yes", "on"};
  static constexpr const char* kFalse[] = {"0", "false", "no", "off"};
  for (const char* word : kTrue) {
    if (strcasecmp(text, word) == 0) return *value = true, true;
  }
  for (const char* word : kFalse) {
    if (strcasecmp(text, word) == 0) return *value = false, true;
  }
  return false;
}

void LoadConfig(const char* (*get)(const char* name), Config* config) {
  *config = Config();
  if (const char* quiet = get("HEAPWATCH_QUIET"); quiet != nullptr && !ParseFlag(quiet, &config->quiet)) {
    Warn("HEAPWATCH_QUIET='%s' is not 0 or 1; using 0", quiet);
  }
  SetQuiet(config->quiet);
  if (const char* rate = get("HEAPWATCH_RATE");
      rate != nullptr && !ParseByteCount(rate, 1, int64_t{1} << 40, &config->sample_rate)) {
    Warn("HEAPWATCH_RATE='%s' is not a byte count from 1 to 1T (e.g. 524288 or 512k); using %lld", rate,
         static_cast<long long>(kDefaultSampleRate));
  }
  if (const char* depth_text = get("HEAPWATCH_DEPTH"); depth_text != nullptr) {
    int64_t depth = 0;
    if (ParseInteger(depth_text, 1, kMaxStackDepth, &depth)) {
      config->stack_depth = static_cast<int>(depth);
    } else {
      Warn("HEAPWATCH_DEPTH='%s' is not a number of frames from 1 to %d; using %d", depth_text, kMaxStackDepth,
           kDefaultStackDepth);
    }
  }
  if (const char* interval = get("HEAPWATCH_INTERVAL");
      interval != nullptr && !ParseSeconds(interval, &config->interval_nanos)) {
    Warn("HEAPWATCH_INTERVAL='%s' is not a number of seconds (e.g. 10 or 0.5; 0 for none); using 10", interval);
  }
  if (const char* children = get("HEAPWATCH_CHILDREN");
      children != nullptr && !ParseFlag(children, &config->profile_children)) {
    Warn("HEAPWATCH_CHILDREN='%s' is not 0 or 1; using 1", children);
  }
  if (const char* out = get("HEAPWATCH_OUT"); out != nullptr && *out != '\0') {
    size_t length = strlen(out);
    if (length >= sizeof(config->output_dir)) {
      Warn("HEAPWATCH_OUT is longer than %zu bytes; using the default directory", sizeof(config->output_dir) - 1);
    } else {
      std::memcpy(config->output_dir, out, length + 1);
    }
  }
}

}  // namespace heapwatch
