#include "engine/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>

namespace epistream {
namespace {

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";
// Requests are GETs without bodies; anything bigger is not ours.
constexpr size_t kMaxPayloadBytes = 64 * 1024;

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) !=
      1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

void Reply(httplib::Response& res, const HttpResponse& r) {
  res.status = r.status;
  res.set_content(r.body, r.content_type);
}

void JsonError(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  // Messages are fixed strings of this file: no escaping needed.
  res.set_content(fmt::format("{{\"error\":\"{}\"}}\n", message),
                  "application/json");
}

}  // namespace

HttpServer::HttpServer(Routes routes) : routes_(std::move(routes)) {
  if (!routes_.token.empty()) token_digest_ = Sha256(routes_.token);
}

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::Authorized(const std::string& header) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (token_digest_.empty() || !StartsWithNoCase(header, kScheme)) return false;
  // Digests have one length whatever the input, so the comparison takes the
  // same time for every wrong token: nothing leaks about the right one.
  const std::string digest =
      Sha256(Trim(std::string_view(header).substr(kScheme.size())));
  return digest.size() == token_digest_.size() &&
         CRYPTO_memcmp(digest.data(), token_digest_.data(), digest.size()) == 0;
}

void HttpServer::Route() {
  httplib::Server& s = *server_;
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(routes_.metrics(), kMetricsType);
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", kTextType);
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (routes_.health == nullptr) {
      res.status = 503;
      res.set_content("not ready: no engine in this process\n", kTextType);
      return;
    }
    const EngineHealth::Readiness r = routes_.health->Check();
    res.status = r.ready ? 200 : 503;
    res.set_content(
        r.ready ? std::string("ready\n") : "not ready: " + r.reason + "\n",
        kTextType);
  });
  // Authorisation first, then routing: a client without the token learns
  // nothing, not even which paths exist.
  auto query = [this](const httplib::Request& req, httplib::Response& res,
                      auto&& answer) {
    if (routes_.queries == nullptr) {
      JsonError(res, 404, "queries are disabled (http.queries: false)");
      return;
    }
    if (!Authorized(req.get_header_value("Authorization"))) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"epistream\"");
      JsonError(res, 401, "missing or wrong bearer token");
      return;
    }
    std::lock_guard<std::mutex> lock(query_mu_);
    Reply(res, answer());
  };
  s.Get(R"(/v1/persons/(.+))",
        [this, query](const httplib::Request& req, httplib::Response& res) {
          const std::string id = req.matches[1];
          query(req, res, [&] { return routes_.queries->Person(id); });
        });
  s.Get("/v1/clusters",
        [this, query](const httplib::Request& req, httplib::Response& res) {
          query(req, res, [&] { return routes_.queries->Clusters(); });
        });
  s.Get(R"(/v1/.*)",
        [query](const httplib::Request& req, httplib::Response& res) {
          query(req, res, [] {
            return HttpResponse{404, "application/json",
                                "{\"error\":\"unknown query\"}\n"};
          });
        });
  // A route that throws answers 500 without the exception's text (httplib's
  // default puts it in a response header).
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", kTextType);
      });
}

Status HttpServer::Start(const std::string& bind, int port) {
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument(
        fmt::format("HTTP port {} outside 0..65535", port));
  }
  if (server_ != nullptr) {
    return Status::InvalidArgument(
        fmt::format("HTTP server already serving on port {}", port_));
  }
  if (!routes_.metrics) {
    return Status::InvalidArgument("HTTP server without a /metrics route");
  }
  if (routes_.queries != nullptr && token_digest_.empty()) {
    return Status::InvalidArgument("HTTP queries need a bearer token");
  }
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  // SO_REUSEADDR only: a restart may bind while old connections linger in
  // TIME_WAIT, but a second live process cannot share the port (httplib's
  // default SO_REUSEPORT would let it, and split the scrapes between them).
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->set_keep_alive_timeout(1);
  server->set_read_timeout(5);
  server->set_write_timeout(5);
  server->set_payload_max_length(kMaxPayloadBytes);
  server_ = std::move(server);
  Route();

  const std::string address = bind.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", bind, port)
                                  : fmt::format("{}:{}", bind, port);
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(bind);
    if (bound <= 0) bound = 0;
  } else if (!server_->bind_to_port(bind, port)) {
    bound = 0;
  }
  if (bound == 0) {
    const int err = errno;
    server_.reset();
    return Status::IoError(
        fmt::format("cannot serve HTTP on {}: {}", address,
                    err != 0 ? std::strerror(err) : "bind failed"));
  }
  listener_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
  // Stop() is a no-op until the listener runs; wait for it so that a Stop()
  // right after Start() cannot miss it (and leave the thread listening).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    Stop();
    return Status::IoError(
        fmt::format("HTTP server on {} did not start", address));
  }
  port_ = bound;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
  port_ = 0;
}

Result<std::string> HttpServer::ReadTokenFile(const std::string& path) {
  if (path.empty()) {
    return Status::InvalidArgument(
        "http.token_file is empty; the /v1 queries need a bearer token file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound(fmt::format("{}: cannot open token file: {}", path,
                                        std::strerror(errno)));
  }
  std::string line;
  std::getline(in, line);
  const std::string token(Trim(line));
  if (token.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: the token file's first line is empty", path));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("{}: token file is readable by group or others (chmod 600)",
                 path);
  }
  return token;
}

}  // namespace epistream
