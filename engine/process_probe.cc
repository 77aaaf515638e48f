#include "engine/process_probe.h"

#include <dirent.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace epistream {
namespace {

prometheus::Gauge* Gauge(MetricsRegistry& m, const char* name,
                         const char* help) {
  return &prometheus::BuildGauge()
              .Name(name)
              .Help(help)
              .Register(m.registry())
              .Add({});
}

// 0 for anything but a plain decimal number.
unsigned long long ToNumber(const std::string& s) {
  unsigned long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size() ? v : 0;
}

// Counts entries of /proc/self/fd, less the one opendir() itself holds.
long CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  long n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;
}

}  // namespace

ProcessProbe::ProcessProbe(MetricsRegistry& m)
    : resident_memory_(Gauge(m, "epistream_process_resident_memory_bytes",
                             "Resident set size of the process")),
      cpu_seconds_(Gauge(m, "epistream_process_cpu_seconds",
                         "User plus system CPU time of the process, seconds")),
      open_fds_(
          Gauge(m, "epistream_process_open_fds", "Open file descriptors")),
      threads_(
          Gauge(m, "epistream_process_threads", "Threads of the process")) {}

Status ProcessProbe::Sample() {
  std::ifstream in("/proc/self/stat");
  if (!in) return Status::IoError("cannot open /proc/self/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold
  // spaces: field 3 (state) onwards. See proc(5).
  const size_t close = stat.rfind(')');
  if (close == std::string::npos)
    return Status::IoError("unexpected /proc/self/stat format");
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0, threads = 0, rss_pages = 0;
  for (int index = 3; fields >> field && index <= 24; ++index) {
    switch (index) {
      case 14:
        utime = ToNumber(field);
        break;
      case 15:
        stime = ToNumber(field);
        break;
      case 20:
        threads = ToNumber(field);
        break;
      case 24:
        rss_pages = ToNumber(field);
        break;
      default:
        break;
    }
  }
  if (threads == 0) return Status::IoError("unexpected /proc/self/stat format");
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  resident_memory_->Set(static_cast<double>(rss_pages) *
                        static_cast<double>(page));
  cpu_seconds_->Set(static_cast<double>(utime + stime) /
                    static_cast<double>(ticks));
  threads_->Set(static_cast<double>(threads));
  const long fds = CountOpenFds();
  if (fds < 0) return Status::IoError("cannot list /proc/self/fd");
  open_fds_->Set(static_cast<double>(fds));
  return Status::Ok();
}

}  // namespace epistream
