// Leak zoo: raw pointers in erased container slots, never deleted (Go:
// pointers left in the dropped elements of a slice).
//
// The service keeps two tables of open connections, std::vector<Connection*>,
// each connection owning a 64 KiB receive buffer. Every tick one client and
// three backend connections are accepted, and connections idle for longer than
// their lifetime (32 to 64 ticks) are reaped. The client reaper erases the
// expired slots with std::erase_if and never deletes what they pointed to;
// the backend reaper, the control, deletes inside the predicate.
//
//   AcceptClientConnection     leak: +64 KiB per tick, nothing ever freed (16 MiB over 250 ticks)
//   AcceptBackendConnection    control: ~144 connections open (9 MiB), reached in ~1 s (plateau)
//   ReapIdleClientConnections  where the bug is (erases without delete; allocates nothing)
#include <algorithm>
#include <memory>
#include <vector>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kReceiveBufferBytes = 64 * 1024;
constexpr int kMinLifetimeTicks = 32, kMaxLifetimeTicks = 64;  // 48 ticks on average
// Three backend connections a tick: ~144 open, a 9 MiB plateau after ~1 s (17
// samples at the default rate: a smaller plateau is mostly sampling noise).
constexpr int kBackendConnectionsPerTick = 3;

struct Connection {
  uint64_t id = 0;
  int close_at_tick = 0;
  std::unique_ptr<char[]> receive_buffer;
};

// Owns the connections its slots point to: whatever is still open at
// shutdown is deleted then.
struct ConnectionTable {
  std::vector<Connection*> slots;
  ~ConnectionTable() {
    for (Connection* connection : slots) delete connection;
  }
};

ConnectionTable g_client_connections;
ConnectionTable g_backend_connections;

NOINLINE void ReserveConnectionTables() {
  // More than are ever open at once, so the tables themselves never reallocate.
  g_client_connections.slots.reserve(kMaxLifetimeTicks + 1);
  g_backend_connections.slots.reserve(kBackendConnectionsPerTick * (kMaxLifetimeTicks + 1));
}

NOINLINE void AcceptClientConnection(uint64_t id, int close_at_tick) {
  auto* connection = new Connection{id, close_at_tick, std::make_unique<char[]>(kReceiveBufferBytes)};
  connection->receive_buffer[0] = 1;
  g_client_connections.slots.push_back(connection);
}

NOINLINE void AcceptBackendConnection(uint64_t id, int close_at_tick) {
  auto* connection = new Connection{id, close_at_tick, std::make_unique<char[]>(kReceiveBufferBytes)};
  connection->receive_buffer[0] = 1;
  g_backend_connections.slots.push_back(connection);
}

// The bug: the slots are erased, the connections they pointed to are not.
NOINLINE size_t ReapIdleClientConnections(int now) {
  return std::erase_if(g_client_connections.slots, [now](Connection* c) { return c->close_at_tick <= now; });
}

NOINLINE size_t ReapIdleBackendConnections(int now) {
  return std::erase_if(g_backend_connections.slots, [now](Connection* c) {
    if (c->close_at_tick > now) return false;
    delete c;
    return true;
  });
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  ReserveConnectionTables();
  uint64_t next_id = 1;
  size_t reaped = 0;
  RunRequestLoop(options, [&](int tick, Rng& rng) {
    ServeBackgroundTraffic(rng);
    if (!options.clean) {
      AcceptClientConnection(next_id++, tick + static_cast<int>(Uniform(rng, kMinLifetimeTicks, kMaxLifetimeTicks)));
      reaped += ReapIdleClientConnections(tick);
    }
    for (int i = 0; i < kBackendConnectionsPerTick; ++i) {
      AcceptBackendConnection(next_id++, tick + static_cast<int>(Uniform(rng, kMinLifetimeTicks, kMaxLifetimeTicks)));
    }
    reaped += ReapIdleBackendConnections(tick);
  });
  EXPECT_OR_DIE(g_backend_connections.slots.size() <= static_cast<size_t>(kBackendConnectionsPerTick * kMaxLifetimeTicks));
  EXPECT_OR_DIE(options.iterations <= kMaxLifetimeTicks || reaped > 0);
  return 0;
}
