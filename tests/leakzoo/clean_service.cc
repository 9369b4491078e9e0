// Leak zoo: the clean program. Normal churn and no leak at all; every
// verdict on it must be a pass.
//
// At start-up the service builds a routing table (~2000 routes, allocated
// once and kept). Each tick it serves background requests and 8 API requests
// that look up a route and build a JSON-ish response out of temporary rows,
// all freed before the request returns.
//
//   BuildRoutingTable    allocated once at start-up, kept (stable after the first snapshot)
//   HandleApiRequest     churn: temporaries only (stable)
//
// --clean is accepted and changes nothing.
#include <map>
#include <string>
#include <vector>

#include "tests/leakzoo/zoo_service.h"

constexpr int kRoutes = 2000;
constexpr int kApiRequestsPerTick = 8;
constexpr int kRowsPerResponse = 40;

struct Route {
  std::string handler;
  std::vector<std::string> allowed_methods;
};

std::map<std::string, Route> g_routes;

NOINLINE void BuildRoutingTable() {
  for (int i = 0; i < kRoutes; ++i) {
    Route route{"handler_for_resource_number_" + std::to_string(i), {"GET", "HEAD"}};
    if (i % 3 == 0) route.allowed_methods.push_back("POST");
    g_routes.emplace("/api/v1/resource/" + std::to_string(i), std::move(route));
  }
}

NOINLINE size_t HandleApiRequest(Rng& rng) {
  std::string path = "/api/v1/resource/" + std::to_string(Uniform(rng, 0, kRoutes - 1));
  auto route = g_routes.find(path);
  EXPECT_OR_DIE(route != g_routes.end());
  std::vector<std::string> rows;
  rows.reserve(kRowsPerResponse);
  for (int i = 0; i < kRowsPerResponse; ++i) {
    rows.push_back("{\"id\": " + std::to_string(Uniform(rng, 1, 1'000'000)) + ", \"handler\": \"" +
                   route->second.handler + "\"}");
  }
  std::string body = "[";
  for (const std::string& row : rows) body += row + ",";
  body.back() = ']';
  Escape(body.data());
  return body.size();
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  BuildRoutingTable();
  size_t bytes = 0;
  RunRequestLoop(options, [&](int, Rng& rng) {
    ServeBackgroundTraffic(rng);
    for (int i = 0; i < kApiRequestsPerTick; ++i) bytes += HandleApiRequest(rng);
  });
  EXPECT_OR_DIE(g_routes.size() == static_cast<size_t>(kRoutes));
  Escape(&bytes);
  return 0;
}
