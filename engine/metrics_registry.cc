#include "engine/metrics_registry.h"

#include <fmt/format.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "engine/http_server.h"
#include "engine/query_handler.h"

namespace epistream {

MetricsRegistry::MetricsRegistry()
    : registry_(std::make_shared<prometheus::Registry>()) {}

MetricsRegistry::~MetricsRegistry() { Stop(); }

void MetricsRegistry::EnableQueries(std::unique_ptr<QueryHandler> handler,
                                    std::string token) {
  queries_ = std::move(handler);
  token_ = std::move(token);
}

Status MetricsRegistry::Serve(const std::string& bind, int port) {
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument(
        fmt::format("metrics port {} outside 0..65535", port));
  }
  if (port == 0) return Status::Ok();
  if (server_ != nullptr) {
    return Status::InvalidArgument(
        fmt::format("metrics already served on port {}", server_->port()));
  }
  HttpServer::Routes routes;
  routes.metrics = [this] { return ScrapeText(); };
  routes.health = &health_;
  routes.queries = queries_.get();
  routes.token = token_;
  auto server = std::make_unique<HttpServer>(std::move(routes));
  EPI_RETURN_IF_ERROR(server->Start(bind, port));
  server_ = std::move(server);
  return Status::Ok();
}

int MetricsRegistry::port() const {
  return server_ == nullptr ? 0 : server_->port();
}

void MetricsRegistry::Stop() { server_.reset(); }

std::string MetricsRegistry::ScrapeText() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace epistream
