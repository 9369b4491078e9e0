// Leak zoo: threads blocked forever holding buffers (Go: hanging goroutines).
//
// Every 4th tick the service hands a request to a worker thread that builds
// a 256 KiB request, sends it to a backend and waits for the reply on a
// std::future; a dispatcher thread fulfils the promises of the requests the
// live backend received. The leaking worker sends to a retired backend,
// ignores that the send failed, and waits forever on a future nobody will
// set: its thread and its request buffer never go away. The control worker
// sends to the live backend, gets its reply, frees its buffer and ends; the
// main loop joins it.
//
//   WaitForLostReply        leak: +256 KiB every 4 ticks, one more blocked thread each time
//                           (63 threads, 15.75 MiB over 250 ticks)
//   WaitForDeliveredReply   control: the same worker whose reply arrives (stable)
//   StartLostReplyWorker,   also grow slightly (a few hundred bytes per blocked worker): the
//   ExpectReply             std::thread state and TLS of each blocked thread, and its promise
//
// The reply table is created once and never destroyed: workers still blocked
// at exit are waiting on it.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kRequestBytes = 256 * 1024;
constexpr int kTicksPerWorker = 4;  // 63 leaked workers over 250 ticks: ~32 samples at the default rate

// Promises of replies, by request id; and the queue of requests the live
// backend has received, which the dispatcher answers.
struct ReplyRouter {
  std::mutex mu;
  std::condition_variable received;
  std::unordered_map<uint64_t, std::promise<std::string>> waiting;
  std::deque<uint64_t> live_backend_queue;
  bool stopping = false;
};

// Created by main before any worker starts, sized for the run so that the
// table's own allocations are made here and not under a worker's stack.
ReplyRouter& Router() {
  static ReplyRouter* router = [] {
    auto* created = new ReplyRouter;  // never destroyed: blocked workers wait on it at exit
    created->waiting.reserve(256);
    return created;
  }();
  return *router;
}

// Registers a promise for the reply. A lost reply's promise stays in the
// table: a few hundred bytes of growth here, under WaitForLostReply.
NOINLINE std::future<std::string> ExpectReply(uint64_t id) {
  std::lock_guard<std::mutex> lock(Router().mu);
  return Router().waiting[id].get_future();
}

// False when the backend has been retired: the request is dropped.
NOINLINE bool SendRequest(bool live_backend, uint64_t id) {
  if (!live_backend) return false;
  std::lock_guard<std::mutex> lock(Router().mu);
  Router().live_backend_queue.push_back(id);
  Router().received.notify_one();
  return true;
}

// Answers every request the live backend received.
NOINLINE void DispatchReplies() {
  ReplyRouter& router = Router();
  std::unique_lock<std::mutex> lock(router.mu);
  for (;;) {
    router.received.wait(lock, [&] { return router.stopping || !router.live_backend_queue.empty(); });
    if (router.live_backend_queue.empty()) return;  // stopping
    uint64_t id = router.live_backend_queue.front();
    router.live_backend_queue.pop_front();
    auto it = router.waiting.find(id);
    EXPECT_OR_DIE(it != router.waiting.end());
    it->second.set_value("ok");
    router.waiting.erase(it);
  }
}

// The leak: the send failure is ignored and the wait has no timeout.
NOINLINE void WaitForLostReply(uint64_t id) {
  std::vector<char> request(kRequestBytes);
  FillBytes(request.data(), 256, id);
  std::future<std::string> reply = ExpectReply(id);
  SendRequest(/*live_backend=*/false, id);
  std::string answer = reply.get();  // never returns
  Escape(request.data());
}

NOINLINE void WaitForDeliveredReply(uint64_t id) {
  std::vector<char> request(kRequestBytes);
  FillBytes(request.data(), 256, id);
  std::future<std::string> reply = ExpectReply(id);
  EXPECT_OR_DIE(SendRequest(/*live_backend=*/true, id));
  std::string answer = reply.get();
  EXPECT_OR_DIE(answer == "ok");
  Escape(request.data());
}

NOINLINE void StartLostReplyWorker(uint64_t id) { std::thread(WaitForLostReply, id).detach(); }

NOINLINE std::thread StartDeliveredReplyWorker(uint64_t id) { return std::thread(WaitForDeliveredReply, id); }

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  Router();
  std::thread dispatcher(DispatchReplies);
  std::deque<std::thread> workers;
  uint64_t next_id = 1;
  RunRequestLoop(options, [&](int tick, Rng& rng) {
    ServeBackgroundTraffic(rng);
    if (tick % kTicksPerWorker == 0 && !options.clean) StartLostReplyWorker(next_id++);
    if (tick % kTicksPerWorker == kTicksPerWorker / 2) workers.push_back(StartDeliveredReplyWorker(next_id++));
    // Workers get their reply within a tick or two; join all but the newest.
    while (workers.size() > 1) {
      workers.front().join();
      workers.pop_front();
    }
  });
  for (std::thread& worker : workers) worker.join();
  {
    std::lock_guard<std::mutex> lock(Router().mu);
    Router().stopping = true;
    Router().received.notify_one();
  }
  dispatcher.join();
  return 0;
}
