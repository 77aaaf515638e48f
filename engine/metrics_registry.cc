#include "engine/metrics_registry.h"

#include <fmt/format.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <vector>

namespace epistream {

MetricsRegistry::MetricsRegistry()
    : registry_(std::make_shared<prometheus::Registry>()) {}

MetricsRegistry::~MetricsRegistry() { Stop(); }

Status MetricsRegistry::Serve(const std::string& bind, int port) {
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument(
        fmt::format("metrics port {} outside 0..65535", port));
  }
  if (port == 0) return Status::Ok();
  if (exposer_ != nullptr) {
    return Status::InvalidArgument(
        fmt::format("metrics already served on port {}", port_));
  }
  // civetweb spells IPv6 addresses in brackets: "[::1]:9464".
  const std::string address = bind.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", bind, port)
                                  : fmt::format("{}:{}", bind, port);
  // prometheus-cpp and civetweb report a bind failure by throwing
  // (CivetException); this is the boundary where it becomes a Status.
  try {
    auto exposer =
        std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", address, "num_threads", "2"});
    exposer->RegisterCollectable(registry_);
    exposer_ = std::move(exposer);
  } catch (const std::exception& e) {
    return Status::IoError(
        fmt::format("cannot serve /metrics on {}: {}", address, e.what()));
  }
  port_ = port;
  return Status::Ok();
}

void MetricsRegistry::Stop() {
  exposer_.reset();
  port_ = 0;
}

std::string MetricsRegistry::ScrapeText() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace epistream
