// Helpers for the operations tests (tests/ops): HTTP GETs on loopback, free
// ports, and what /proc says is listening. Header-only (tests/ops has no
// library).
//
// Threading: test-thread only.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace epistream::testing {

struct HttpResult {
  int status = -1;  // -1: no response (connection refused, timeout)
  std::string body;
  std::string content_type;
  std::string www_authenticate;
};

// GET http://127.0.0.1:port/path, with `authorization` as the Authorization
// header when not empty.
inline HttpResult Get(int port, const std::string& path,
                      const std::string& authorization = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(10);
  httplib::Headers headers;
  if (!authorization.empty()) headers.emplace("Authorization", authorization);
  HttpResult r;
  auto res = client.Get(path.c_str(), headers);
  if (!res) return r;
  r.status = res->status;
  r.body = res->body;
  r.content_type = res->get_header_value("Content-Type");
  r.www_authenticate = res->get_header_value("WWW-Authenticate");
  return r;
}

// A loopback port free a moment ago (bound to port 0, read back, closed).
// Another process may take it before the caller binds it; tests that start a
// child with it retry or accept that rare flake.
inline int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Local IPv4 addresses ("127.0.0.1", "0.0.0.0", ...) with a socket listening
// on `port`, from /proc/net/tcp (state 0A = LISTEN; addresses are hex in
// host byte order).
inline std::set<std::string> ListeningAddresses(int port) {
  std::set<std::string> out;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const size_t colon = local.find(':');
    if (colon == std::string::npos || state != "0A") continue;
    if (std::stoi(local.substr(colon + 1), nullptr, 16) != port) continue;
    in_addr a{};
    a.s_addr =
        static_cast<in_addr_t>(std::stoul(local.substr(0, colon), nullptr, 16));
    char buf[INET_ADDRSTRLEN];
    out.insert(::inet_ntop(AF_INET, &a, buf, sizeof buf));
  }
  return out;
}

}  // namespace epistream::testing
