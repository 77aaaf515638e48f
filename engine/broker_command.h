// `epistream broker`: the embedded Kafka-protocol broker alone, for kcat and
// tests (CONTRACT.md section 6).
#pragma once

#include <string>
#include <vector>

namespace epistream {

// Starts an EmbeddedBroker on 127.0.0.1, creates `topics` with `partitions`
// partitions each, prints "bootstrap.servers=HOST:PORT" as the first line
// on stdout (flushed at once, so a parent process can read it), then blocks
// until SIGINT or SIGTERM and returns 0. Returns 2 for a bad partition count,
// 1 when the broker or a topic cannot be created (message on stderr).
//
// Must be called from the main thread before any other thread is started:
// it blocks SIGINT/SIGTERM in the calling thread (threads created later,
// such as the broker's, inherit the mask) and waits for them with sigwait,
// so no handler runs and nothing spins. The mask is restored on return.
// Replaces spdlog's default logger with one writing to stderr, so that
// stdout carries only the bootstrap line.
int RunBrokerCommand(int partitions, const std::vector<std::string>& topics);

// One topic to create and its partition count (>= 1).
struct BrokerTopic {
  std::string name;
  int partitions = 1;
};

// As above, each topic with its own partition count (the repartition
// topics are sized apart from the input topics); 2 if any count is < 1.
int RunBrokerCommand(const std::vector<BrokerTopic>& topics);

}  // namespace epistream
