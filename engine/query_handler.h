// QueryHandler: the read-only operator queries the HTTP server forwards
// (GET /v1/persons/{id}, GET /v1/clusters), implemented where the state
// layout is known (topologies/state_queries.h); engine/ only routes them.
//
// Threading: the HTTP server calls one method at a time (it serialises the
// calls), on one of its own worker threads, never on the stage thread. An
// implementation must not touch the stage's objects: it reads its own view
// of the state (a RocksDB secondary instance) so the stage is never blocked.
#pragma once

#include <string>
#include <string_view>

namespace epistream {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class QueryHandler {
 public:
  virtual ~QueryHandler() = default;

  // GET /v1/persons/{id}: the stored state of one person (200), 404 when
  // there is none, 503 when the state cannot be read yet.
  virtual HttpResponse Person(std::string_view person_id) = 0;
  // GET /v1/clusters: the cluster keys the state holds.
  virtual HttpResponse Clusters() = 0;
};

}  // namespace epistream
