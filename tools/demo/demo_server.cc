// demo_server: a toy request server for heapwatch's demo (tools/demo.sh).
//
// It serves simulated requests at a steady pace and has three kinds of heap
// use a real service has:
//  - a session cache with a bound (an LRU of 2,200 entries of 4 KiB, users
//    drawn from 4,000): it fills during the first ~8 seconds and then stays
//    flat, which is healthy;
//  - per-request temporaries (parsing, building the response): churn;
//  - a leak: each request registers a completion callback with a global
//    event registry "for tracing", capturing the request's trace buffer,
//    and nothing ever unregisters it. Everything stays reachable, so
//    exit-time leak checkers see nothing wrong.
//
//   demo_server [--seconds N] [--rate REQUESTS_PER_SECOND]
//
// Runs N seconds (default 20) or until SIGTERM/SIGINT, then exits cleanly.

#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

void Stop(int) { g_stop = true; }

struct Request {
  uint64_t id;
  std::string user;
  std::string path;
};

// A bounded LRU cache of user sessions.
class SessionCache {
 public:
  explicit SessionCache(size_t capacity) : capacity_(capacity) {}

  __attribute__((noinline)) const std::string& Lookup(const std::string& user) {
    auto it = index_.find(user);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    order_.emplace_front(user, std::string(4096, 's'));  // the session state
    index_[user] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, std::string>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, std::string>>::iterator> index_;
};

// Callbacks run "when a request completes" — except nobody ever removes
// them, and requests never report completion to it.
class EventRegistry {
 public:
  void Register(uint64_t id, std::function<void()> callback) { callbacks_.emplace(id, std::move(callback)); }
  size_t size() const { return callbacks_.size(); }

 private:
  std::map<uint64_t, std::function<void()>> callbacks_;
};

EventRegistry g_registry;
SessionCache g_sessions(2200);

// The leak: a trace buffer per request, captured by a callback that stays
// registered forever.
__attribute__((noinline)) void TraceRequest(const Request& request) {
  auto trace = std::make_shared<std::vector<char>>(4096);
  std::snprintf(trace->data(), trace->size(), "GET %s user=%s", request.path.c_str(), request.user.c_str());
  g_registry.Register(request.id, [trace] { std::fputs(trace->data(), stderr); });
}

__attribute__((noinline)) std::string RenderResponse(const Request& request, const std::string& session) {
  std::string body;
  for (int i = 0; i < 20; ++i) body += "<li>" + request.path + "#" + std::to_string(i) + "</li>";
  return "200 OK " + std::to_string(session.size() + body.size()) + "\n" + body;
}

__attribute__((noinline)) size_t HandleRequest(const Request& request) {
  const std::string& session = g_sessions.Lookup(request.user);
  std::vector<std::string> headers(8, std::string(64, 'h'));  // parsed, then dropped
  std::string response = RenderResponse(request, session);
  TraceRequest(request);
  return response.size() + headers.size();
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 20, rate = 400;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rate")) rate = std::atof(argv[i + 1]);
  }
  signal(SIGTERM, Stop);
  signal(SIGINT, Stop);
  std::srand(42);
  double start = Now(), next_report = start + 5;
  uint64_t served = 0, bytes = 0;
  while (!g_stop && Now() - start < seconds) {
    // One batch of requests every 10 ms.
    for (int i = 0; i < rate / 100; ++i) {
      Request request{served, "user" + std::to_string(std::rand() % 4000), "/items/" + std::to_string(served % 97)};
      bytes += HandleRequest(request);
      ++served;
    }
    timespec pause = {0, 10'000'000};
    nanosleep(&pause, nullptr);
    if (Now() >= next_report) {
      std::printf("demo_server: %llu requests served\n", static_cast<unsigned long long>(served));
      std::fflush(stdout);
      next_report += 5;
    }
  }
  std::printf("demo_server: stopping after %llu requests (%zu callbacks still registered)\n",
              static_cast<unsigned long long>(served), g_registry.size());
  return bytes > 0 ? 0 : 1;
}
