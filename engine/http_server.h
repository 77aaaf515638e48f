// HttpServer: the process's one HTTP endpoint (cpp-httplib), for Prometheus,
// orchestrators and operators.
//
//   GET /metrics             Prometheus text format (Routes::metrics)
//   GET /healthz             200 "ok" while the process serves at all
//   GET /readyz              200 "ready", or 503 with the reason
//                            (EngineHealth::Check)
//   GET /v1/persons/{id}     read-only state queries (QueryHandler), only when
//   GET /v1/clusters         Routes::queries is set; they need the header
//                            "Authorization: Bearer <token>" (401 without it,
//                            compared in constant time); 404 when disabled
//
// Anything else is 404. Person ids appear only in /v1 paths and bodies; the
// server logs no request.
//
// Lifecycle: construct with the routes, Start() once, Stop() (or destroy).
// Everything the routes point to must outlive the server.
// Threading: Start/Stop on the owner's thread, not concurrently. Requests run
// on the server's own threads (one listener, kWorkers workers); /v1 queries
// are serialised (one at a time) so a QueryHandler needs no locking of its
// own. The routes never run on, or block, the stage thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/engine_health.h"
#include "engine/query_handler.h"
#include "engine/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace epistream {

class HttpServer {
 public:
  // Worker threads: a scrape, a probe and an operator query at once, plus one.
  static constexpr int kWorkers = 4;

  struct Routes {
    // Body of GET /metrics. Required.
    std::function<std::string()> metrics;
    // Answers GET /readyz; null: always 503 "no engine".
    const EngineHealth* health = nullptr;
    // Answers GET /v1/...; null: the queries are off (404).
    QueryHandler* queries = nullptr;
    // The bearer token the queries require; must not be empty when queries
    // is set (Start() refuses it).
    std::string token;
  };

  explicit HttpServer(Routes routes);
  ~HttpServer();  // Stop()s first
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds bind:port (an IPv4 or IPv6 address, or a host name; port 0 picks
  // an ephemeral port, see port()) and serves until Stop(). Returns once the
  // server accepts connections. A bind failure (address in use: the socket
  // has SO_REUSEADDR, not SO_REUSEPORT, so a second process cannot share the
  // port) or a second Start() is an error Status.
  Status Start(const std::string& bind, int port);

  // The port being served, 0 when not serving.
  int port() const { return port_; }

  // Stops accepting, finishes the requests in flight (up to about a second
  // for an idle keep-alive connection) and joins the threads. Idempotent.
  void Stop();

  // The bearer token in the first line of `path`, surrounding blanks
  // removed. Missing, unreadable or empty files are errors naming the path.
  static Result<std::string> ReadTokenFile(const std::string& path);

 private:
  void Route();
  bool Authorized(const std::string& authorization_header) const;

  Routes routes_;
  std::string token_digest_;  // SHA-256 of routes_.token
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::mutex query_mu_;  // serialises QueryHandler calls
  int port_ = 0;
};

}  // namespace epistream
