// Leak zoo: std::shared_ptr reference cycles (Go: finalizers on cycles; any
// reference-counted cycle).
//
// Each tick the service opens a multiplexed session of each kind (32 KiB of
// session state), attaches two streams to it (16 KiB window each), serves a
// request and closes the session by dropping the last outside reference.
// The session owns its streams through shared_ptr. In the leaking variant
// each stream points back at its session through a shared_ptr too: session
// and streams keep each other alive and nothing is freed. The control's back
// edge is a weak_ptr, so dropping the session frees everything.
//
//   OpenSessionWithOwningStreams   leak: +32 KiB per tick (the session node)
//   AttachOwningStream             leak: +2 x 16 KiB per tick (the stream nodes)
//                                  together 16 MiB over 250 ticks
//   OpenSessionWithWeakStreams,    control: the same graph with a weak_ptr back edge (stable)
//   AttachWeakStream
#include <memory>
#include <vector>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kSessionStateBytes = 32 * 1024;
constexpr size_t kStreamWindowBytes = 16 * 1024;
constexpr int kStreamsPerSession = 2;  // 32 + 2 x 16 KiB = 64 KiB per session: ~32 samples over 250 ticks

// BackEdge is std::shared_ptr<Session> (leaks) or std::weak_ptr<Session>.
// The buffers are sized by the functions below, not by constructors: a
// constructor would be the first user frame of both variants' allocations.
template <template <typename> class BackEdge>
struct Session {
  struct Stream {
    BackEdge<Session> session;
    std::vector<char> window;
  };
  uint64_t id = 0;
  std::vector<char> state;
  std::vector<std::shared_ptr<Stream>> streams;
};

using OwningSession = Session<std::shared_ptr>;
using WeakSession = Session<std::weak_ptr>;

NOINLINE std::shared_ptr<OwningSession> OpenSessionWithOwningStreams(uint64_t id) {
  auto session = std::make_shared<OwningSession>();
  session->id = id;
  session->state.resize(kSessionStateBytes);
  session->streams.reserve(kStreamsPerSession);
  return session;
}

NOINLINE void AttachOwningStream(const std::shared_ptr<OwningSession>& session) {
  auto stream = std::make_shared<OwningSession::Stream>();
  stream->window.resize(kStreamWindowBytes);
  stream->session = session;  // the cycle: stream -> session -> stream
  session->streams.push_back(std::move(stream));
}

NOINLINE std::shared_ptr<WeakSession> OpenSessionWithWeakStreams(uint64_t id) {
  auto session = std::make_shared<WeakSession>();
  session->id = id;
  session->state.resize(kSessionStateBytes);
  session->streams.reserve(kStreamsPerSession);
  return session;
}

NOINLINE void AttachWeakStream(const std::shared_ptr<WeakSession>& session) {
  auto stream = std::make_shared<WeakSession::Stream>();
  stream->window.resize(kStreamWindowBytes);
  stream->session = session;
  session->streams.push_back(std::move(stream));
}

// A request on a session: touches the state through each stream's back edge.
template <typename SessionType>
size_t ServeOnSession(SessionType& session, Rng& rng) {
  size_t touched = 0;
  for (auto& stream : session.streams) {
    auto owner = std::shared_ptr<SessionType>(stream->session);  // shared_ptr copy, or weak_ptr::lock
    EXPECT_OR_DIE(owner.get() == &session);
    owner->state[Uniform(rng, 0, kSessionStateBytes - 1)] = 1;
    stream->window[0] = 1;
    ++touched;
  }
  return touched;
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  uint64_t next_id = 1;
  size_t served = 0;
  RunRequestLoop(options, [&](int, Rng& rng) {
    ServeBackgroundTraffic(rng);
    if (!options.clean) {
      std::shared_ptr<OwningSession> session = OpenSessionWithOwningStreams(next_id++);
      for (int i = 0; i < kStreamsPerSession; ++i) AttachOwningStream(session);
      served += ServeOnSession(*session, rng);
    }  // the last outside reference goes: the cycle stays
    std::shared_ptr<WeakSession> session = OpenSessionWithWeakStreams(next_id++);
    for (int i = 0; i < kStreamsPerSession; ++i) AttachWeakStream(session);
    served += ServeOnSession(*session, rng);
  });
  EXPECT_OR_DIE(served == static_cast<size_t>(options.iterations) * kStreamsPerSession * (options.clean ? 1 : 2));
  return 0;
}
