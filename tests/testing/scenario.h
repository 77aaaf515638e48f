// Helpers for the tests that drive the `epistream` binary on files: the
// data-driven scenario suite (tests/scenarios/*.jsonl, format in
// tests/scenarios/README.md) and the bad-input test. Header-only because
// tests/testing has no library.
//
// What is here:
//   - LoadScenario: reads one scenario file into input lines and expectations.
//   - TempDir: a fresh directory under /tmp, removed on destruction (kept when
//     the environment sets EPISTREAM_KEEP_TMP=1, for debugging).
//   - RunEngine: `epistream run --input ... --alerts ... --deadletter ...` as a
//     child process (fork + execv, no shell), with a timeout.
//   - ParseAlert / ParseDeadLetter: the fields the tests compare, checked
//     against CONTRACT.md section 3.
//   - WithoutEmittedAt: an output line minus its wall-clock `emitted_at`
//     field, for byte-for-byte comparisons between runs.
//
// Threading: test-thread only; nothing here is shared between threads.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "engine/event_time.h"
#include "engine/json_writer.h"
#include "tests/testing/test_paths.h"

namespace epistream::testing {

// Extra arguments appended to every `epistream run` the tests start. Empty by
// default; if file mode ever binds a fixed metrics port, put
// {"--metrics-port", "0"} here so parallel ctest runs do not collide.
inline const std::vector<std::string>& ExtraRunArgs() {
  static const std::vector<std::string> kArgs = {};
  return kArgs;
}

// Wall-clock limit of one engine run; a hung engine fails the test instead of
// hanging ctest.
inline constexpr int kRunTimeoutSeconds = 60;

// The binary under test: $EPISTREAM_TEST_BINARY if set (to run the suite
// against another build), else this build tree's binary.
inline std::string EngineBinary() {
  if (const char* env = std::getenv("EPISTREAM_TEST_BINARY");
      env != nullptr && *env != '\0') {
    return env;
  }
  return EngineBinaryPath();
}

inline std::string SourceDir() { return SourceDirPath(); }

// ---------------------------------------------------------------------------
// Files.

inline bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

inline bool WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return false;
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return static_cast<bool>(out);
}

// Splits on '\n'; drops a trailing '\r' and empty lines. A missing file gives
// no lines (the caller checks existence when it matters).
inline std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::string content;
  if (!ReadFile(path, &content)) return lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string line = content.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    // $TMPDIR when set, so concurrent suites on one machine can be kept apart.
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/epistream-test-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (path_.empty()) return;
    const char* keep = std::getenv("EPISTREAM_KEEP_TMP");
    if (keep != nullptr && std::string_view(keep) == "1") return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const {
    return path_ + "/" + std::string(name);
  }
  // Creates (empty) and returns a subdirectory.
  std::string SubDir(std::string_view name) const {
    std::string p = File(name);
    std::error_code ec;
    std::filesystem::create_directories(p, ec);
    return p;
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------
// Scenario files.

// The projection of an alert that scenarios compare. Cluster alerts have no
// person: their subject is "venue:ID", "community:ID" or "clinic:ID" (from
// the cluster object's venue_id, community_id or clinic_id) and they carry a
// version (0 for person alerts).
struct AlertKey {
  std::string rule;
  std::string severity;
  std::string person_id;  // or the cluster subject
  TimestampMs ts = 0;
  int64_t version = 0;

  // Order used for comparison: (ts, rule, person_id, severity, version).
  auto Tie() const { return std::tie(ts, rule, person_id, severity, version); }
  bool operator<(const AlertKey& o) const { return Tie() < o.Tie(); }
  bool operator==(const AlertKey& o) const { return Tie() == o.Tie(); }
  std::string ToString() const {
    std::string s = FormatRfc3339(ts, 8 * 60) + " " + rule + " " + severity + " " + person_id;
    if (version > 0) s += " v" + std::to_string(version);
    return s;
  }
};

// The cluster fields naming a cluster alert's subject, in the contract's order.
inline constexpr std::string_view kClusterSubjects[] = {"venue_id", "community_id",
                                                        "clinic_id"};

// "venue:ID" from {"venue_id":"ID"} (or community_id, clinic_id); false if none.
inline bool GetClusterSubject(simdjson::dom::element obj, std::string* out) {
  for (std::string_view field : kClusterSubjects) {
    std::string_view id;
    if (obj[field].get_string().get(id) == simdjson::SUCCESS) {
      *out = std::string(field.substr(0, field.size() - 3)) + ":" + std::string(id);
      return true;
    }
  }
  return false;
}

struct ExpectedDeadLetter {
  std::string reason;
  std::optional<int64_t> offset;  // checked only when the scenario gives it
};

struct Scenario {
  std::string path;
  std::string stem;  // file name without .jsonl
  std::string name;
  std::string description;
  std::vector<std::string> input_lines;  // written to the engine's input file
  std::vector<AlertKey> expected_alerts;
  std::vector<ExpectedDeadLetter> expected_deadletters;
};

// "ts" as an RFC 3339 string or integer epoch milliseconds.
inline bool GetTimestamp(simdjson::dom::element e, TimestampMs* out) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    std::optional<TimestampMs> ts = ParseRfc3339(s);
    if (!ts) return false;
    *out = *ts;
    return true;
  }
  int64_t v = 0;
  if (e.get_int64().get(v) == simdjson::SUCCESS) {
    *out = v;
    return true;
  }
  return false;
}

inline bool GetStringField(simdjson::dom::element obj, std::string_view key,
                           std::string* out) {
  std::string_view s;
  if (obj[key].get_string().get(s) != simdjson::SUCCESS) return false;
  *out = std::string(s);
  return true;
}

// Parses one scenario file. Lines starting with '#' are headers, markers or
// comments; blank lines are skipped. Returns false with *error on a malformed
// file (no `# expect` marker, unparsable expectation, unknown marker).
inline bool LoadScenario(const std::string& path, Scenario* out,
                         std::string* error) {
  std::string content;
  if (!ReadFile(path, &content)) {
    *error = "cannot read " + path;
    return false;
  }
  *out = Scenario{};
  out->path = path;
  out->stem = std::filesystem::path(path).stem().string();
  enum class Section {
    kInput,
    kAlerts,
    kDeadLetters
  } section = Section::kInput;
  bool saw_expect = false;
  simdjson::dom::parser parser;
  std::istringstream in(content);
  std::string line;
  int line_no = 0;
  auto fail = [&](const std::string& what) {
    *error = path + ":" + std::to_string(line_no) + ": " + what;
    return false;
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line[0] == '#') {
      std::string_view h(line);
      h.remove_prefix(1);
      while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
      while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
      if (h == "expect") {
        if (section != Section::kInput)
          return fail("`# expect` must come once, first");
        section = Section::kAlerts;
        saw_expect = true;
      } else if (h == "expect-deadletters") {
        if (section != Section::kAlerts)
          return fail("`# expect-deadletters` after `# expect`");
        section = Section::kDeadLetters;
      } else if (h.rfind("name:", 0) == 0) {
        h.remove_prefix(5);
        size_t p = h.find_first_not_of(' ');
        out->name = std::string(p == std::string_view::npos ? "" : h.substr(p));
      } else if (h.rfind("description:", 0) == 0) {
        h.remove_prefix(12);
        size_t p = h.find_first_not_of(' ');
        out->description =
            std::string(p == std::string_view::npos ? "" : h.substr(p));
      } else if (h.rfind("expect", 0) == 0) {
        return fail("unknown marker: " + line);
      }
      // Any other '#' line is a comment.
      continue;
    }
    if (section == Section::kInput) {
      out->input_lines.push_back(line);
      continue;
    }
    simdjson::dom::element e;
    if (parser.parse(line).get(e) != simdjson::SUCCESS || !e.is_object()) {
      return fail("expectation is not a JSON object: " + line);
    }
    if (section == Section::kAlerts) {
      AlertKey k;
      if (!GetStringField(e, "rule", &k.rule) ||
          !GetStringField(e, "severity", &k.severity) ||
          (!GetStringField(e, "person_id", &k.person_id) &&
           !GetClusterSubject(e, &k.person_id))) {
        return fail(
            "expected alert needs rule, severity, and person_id (or venue_id, "
            "community_id, clinic_id with version): " + line);
      }
      if (e["version"].get_int64().get(k.version) != simdjson::SUCCESS) {
        k.version = 0;
      }
      const bool cluster = k.person_id.find(':') != std::string::npos &&
                           e["person_id"].error() != simdjson::SUCCESS;
      if (cluster && k.version < 1) {
        return fail("expected cluster alert needs a version >= 1: " + line);
      }
      simdjson::dom::element ts;
      if (e["ts"].get(ts) != simdjson::SUCCESS || !GetTimestamp(ts, &k.ts)) {
        return fail("expected alert needs a valid ts: " + line);
      }
      out->expected_alerts.push_back(std::move(k));
    } else {
      ExpectedDeadLetter d;
      if (!GetStringField(e, "reason", &d.reason))
        return fail("dead letter needs reason: " + line);
      int64_t off = 0;
      if (e["offset"].get_int64().get(off) == simdjson::SUCCESS) d.offset = off;
      out->expected_deadletters.push_back(std::move(d));
    }
  }
  if (!saw_expect) {
    *error = path + ": no `# expect` marker";
    return false;
  }
  if (out->name.empty()) {
    *error = path + ": no `# name:` header";
    return false;
  }
  if (out->input_lines.empty()) {
    *error = path + ": no input lines";
    return false;
  }
  return true;
}

// All tests/scenarios/*.jsonl, sorted by file name.
inline std::vector<std::string> ListScenarioFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  const std::filesystem::path dir =
      std::filesystem::path(SourceDir()) / "tests" / "scenarios";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A gtest-safe parameter name ([A-Za-z0-9_]) from a file path.
inline std::string ScenarioTestName(const std::string& path) {
  std::string stem = std::filesystem::path(path).stem().string();
  std::string out =
      "s";  // names may not start with a digit in every gtest version
  for (char c : stem) {
    out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  }
  return out;
}

// ---------------------------------------------------------------------------
// Running the engine.

struct ProcessResult {
  int exit_code = -1;  // -1 if it did not exit normally
  bool timed_out = false;
  std::string error;   // fork/exec problems
  std::string output;  // stdout and stderr, for failure messages
  std::string command;

  std::string Describe() const {
    std::string s =
        "command: " + command + "\nexit code: " + std::to_string(exit_code);
    if (timed_out) s += " (killed after timeout)";
    if (!error.empty()) s += "\nerror: " + error;
    if (!output.empty()) s += "\noutput:\n" + output.substr(0, 4000);
    return s;
  }
};

// Runs argv[0] with argv, stdout and stderr to `log_path`, stdin from
// /dev/null; kills the child after `timeout_seconds`.
inline ProcessResult RunProcess(const std::vector<std::string>& argv,
                                const std::string& log_path,
                                int timeout_seconds = kRunTimeoutSeconds) {
  ProcessResult r;
  for (const std::string& a : argv)
    r.command += (r.command.empty() ? "" : " ") + a;
  std::vector<char*> cargv;
  for (const std::string& a : argv)
    cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    r.error = "fork failed";
    return r;
  }
  if (pid == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_in = open("/dev/null", O_RDONLY);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0) {
      r.error = "waitpid failed";
      return r;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (!r.timed_out && r.exit_code == 127)
    r.error = "exec failed (is the binary built?)";
  ReadFile(log_path, &r.output);
  return r;
}

struct RunOptions {
  std::optional<int> batch_size;
  std::optional<int> stop_after;
  std::string state_dir;  // empty: no --state (fresh temporary state)
  std::string config;     // empty: no --config
};

struct EngineRun {
  ProcessResult process;
  std::vector<std::string> alerts;       // lines of the --alerts file
  std::vector<std::string> deadletters;  // lines of the --deadletter file
  bool alerts_file_exists = false;
  bool deadletter_file_exists = false;
};

// `epistream run --input INPUT --alerts DIR/PREFIX.alerts.jsonl
//  --deadletter DIR/PREFIX.dead.jsonl [options]`.
inline EngineRun RunEngine(const std::string& input, const std::string& dir,
                           const std::string& prefix,
                           const RunOptions& options = {}) {
  const std::string alerts = dir + "/" + prefix + ".alerts.jsonl";
  const std::string dead = dir + "/" + prefix + ".dead.jsonl";
  std::vector<std::string> argv = {EngineBinary(), "run",      "--input",
                                   input,          "--alerts", alerts,
                                   "--deadletter", dead};
  if (!options.state_dir.empty()) {
    argv.insert(argv.end(), {"--state", options.state_dir});
  }
  if (options.batch_size) {
    argv.insert(argv.end(),
                {"--batch-size", std::to_string(*options.batch_size)});
  }
  if (options.stop_after) {
    argv.insert(argv.end(),
                {"--stop-after", std::to_string(*options.stop_after)});
  }
  if (!options.config.empty())
    argv.insert(argv.end(), {"--config", options.config});
  argv.insert(argv.end(), ExtraRunArgs().begin(), ExtraRunArgs().end());
  EngineRun run;
  run.process = RunProcess(argv, dir + "/" + prefix + ".log");
  run.alerts_file_exists = std::filesystem::exists(alerts);
  run.deadletter_file_exists = std::filesystem::exists(dead);
  run.alerts = ReadLines(alerts);
  run.deadletters = ReadLines(dead);
  return run;
}

// ---------------------------------------------------------------------------
// Output records.

// An output line (alert or dead letter) re-serialised compactly without its
// top-level `emitted_at`: the only field allowed to differ between runs of one
// input. Keys keep their order; values are minified by simdjson. A line that
// is not a JSON object is returned unchanged (the field checks flag it).
inline std::string WithoutEmittedAt(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  simdjson::dom::object obj;
  if (parser.parse(line).get(e) != simdjson::SUCCESS ||
      e.get_object().get(obj) != simdjson::SUCCESS) {
    return line;
  }
  std::string out = "{";
  bool first = true;
  for (auto field : obj) {
    if (field.key == "emitted_at") continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    AppendJsonEscaped(field.key, &out);
    out += "\":";
    out += simdjson::minify(field.value);
  }
  out += '}';
  return out;
}

inline std::vector<std::string> WithoutEmittedAt(
    const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  out.reserve(lines.size());
  for (const std::string& l : lines) out.push_back(WithoutEmittedAt(l));
  return out;
}

struct ActualAlert {
  std::string alert_id;
  AlertKey key;
};

// Parses an alert line and checks it against CONTRACT.md section 3: alert_id
// (non-empty string), rule, severity (critical|warning|info), person_id (or,
// for cluster alerts, the cluster object and a version), ts
// (RFC 3339 with milliseconds and the +08:00 offset), emitted_at (RFC 3339),
// evidence (array), explanation (string). Returns false with *error otherwise.
inline bool ParseAlert(const std::string& line, ActualAlert* out,
                       std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(line).get(e) != simdjson::SUCCESS || !e.is_object()) {
    *error = "alert is not a JSON object: " + line;
    return false;
  }
  std::string ts_text, emitted_at, explanation;
  if (!GetStringField(e, "alert_id", &out->alert_id) || out->alert_id.empty()) {
    *error = "alert_id missing or empty: " + line;
    return false;
  }
  if (!GetStringField(e, "rule", &out->key.rule) ||
      !GetStringField(e, "severity", &out->key.severity)) {
    *error = "rule or severity missing: " + line;
    return false;
  }
  simdjson::dom::element cluster;
  if (e["cluster"].get(cluster) == simdjson::SUCCESS) {
    // A cluster alert: no person_id; the cluster object of CONTRACT.md
    // section 3 and a version >= 1.
    if (e["person_id"].error() == simdjson::SUCCESS) {
      *error = "cluster alert with a person_id: " + line;
      return false;
    }
    std::string cluster_id, first_ts, last_ts;
    simdjson::dom::array members;
    int64_t count = 0;
    double number = 0;
    if (!cluster.is_object() || !GetStringField(cluster, "cluster_id", &cluster_id) ||
        cluster_id.empty() || !GetClusterSubject(cluster, &out->key.person_id) ||
        cluster["member_count"].get_int64().get(count) != simdjson::SUCCESS ||
        cluster["members"].get_array().get(members) != simdjson::SUCCESS ||
        members.size() > 100 || !GetStringField(cluster, "first_ts", &first_ts) ||
        !ParseRfc3339(first_ts) || !GetStringField(cluster, "last_ts", &last_ts) ||
        !ParseRfc3339(last_ts) ||
        cluster["statistic"].get_double().get(number) != simdjson::SUCCESS ||
        cluster["expected"].get_double().get(number) != simdjson::SUCCESS ||
        (cluster["p_value"].get_double().get(number) != simdjson::SUCCESS &&
         !cluster["p_value"].is_null())) {
      *error =
          "cluster needs cluster_id, venue_id|community_id|clinic_id, member_count, "
          "members (<= 100), first_ts, last_ts, statistic, expected, p_value: " + line;
      return false;
    }
    if (e["version"].get_int64().get(out->key.version) != simdjson::SUCCESS ||
        out->key.version < 1) {
      *error = "cluster alert without a version >= 1: " + line;
      return false;
    }
  } else if (!GetStringField(e, "person_id", &out->key.person_id)) {
    *error = "person_id missing: " + line;
    return false;
  }
  static const std::set<std::string> kSeverities = {"critical", "warning",
                                                    "info"};
  if (kSeverities.count(out->key.severity) == 0) {
    *error = "severity not critical|warning|info: " + line;
    return false;
  }
  static const std::regex kTsFormat(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+08:00$)");
  if (!GetStringField(e, "ts", &ts_text) ||
      !std::regex_match(ts_text, kTsFormat)) {
    *error = "ts missing or not RFC 3339 with milliseconds and +08:00: " + line;
    return false;
  }
  out->key.ts = *ParseRfc3339(ts_text);
  if (!GetStringField(e, "emitted_at", &emitted_at) ||
      !ParseRfc3339(emitted_at)) {
    *error = "emitted_at missing or not RFC 3339: " + line;
    return false;
  }
  simdjson::dom::array evidence;
  if (e["evidence"].get_array().get(evidence) != simdjson::SUCCESS) {
    *error = "evidence missing or not an array: " + line;
    return false;
  }
  if (!GetStringField(e, "explanation", &explanation)) {
    *error = "explanation missing or not a string: " + line;
    return false;
  }
  return true;
}

struct ActualDeadLetter {
  std::string reason;
  int64_t offset = -1;
  bool has_original = false;
  std::string original;  // decoded from `original` or `original_base64`
  bool was_base64 = false;
};

inline bool Base64Decode(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

// Parses a dead-letter line: reason (string) and offset (integer) are
// required; original or original_base64 is decoded when present.
inline bool ParseDeadLetter(const std::string& line, ActualDeadLetter* out,
                            std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(line).get(e) != simdjson::SUCCESS || !e.is_object()) {
    *error = "dead letter is not a JSON object: " + line.substr(0, 300);
    return false;
  }
  if (!GetStringField(e, "reason", &out->reason)) {
    *error = "dead letter without reason: " + line.substr(0, 300);
    return false;
  }
  if (e["offset"].get_int64().get(out->offset) != simdjson::SUCCESS) {
    *error = "dead letter without integer offset: " + line.substr(0, 300);
    return false;
  }
  std::string b64;
  if (GetStringField(e, "original", &out->original)) {
    out->has_original = true;
  } else if (GetStringField(e, "original_base64", &b64)) {
    out->has_original = Base64Decode(b64, &out->original);
    out->was_base64 = true;
  }
  return true;
}

}  // namespace epistream::testing
