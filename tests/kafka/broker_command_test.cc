// `epistream broker` in-process: RunBrokerCommand on its own thread, its
// stdout captured through a pipe, stopped with SIGTERM sent to that thread.
#include "engine/broker_command.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "engine/kafka_producer.h"
#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

// Reads one line from fd (blocking), without the newline.
std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

TEST(BrokerCommandTest, PrintsBootstrapFirstAndStopsOnSigterm) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::fflush(stdout);
  const int saved_stdout = dup(STDOUT_FILENO);
  ASSERT_GE(saved_stdout, 0);
  ASSERT_GE(dup2(fds[1], STDOUT_FILENO), 0);

  int rc = -1;
  pthread_t command_thread{};
  std::thread runner([&] {
    command_thread = pthread_self();
    rc = RunBrokerCommand(3, {"epi.scans", "epi.alerts.person"});
  });
  const std::string first = ReadLine(fds[0]);
  // Restore stdout before any assertion can print.
  std::fflush(stdout);
  dup2(saved_stdout, STDOUT_FILENO);
  close(saved_stdout);

  const std::string prefix = "bootstrap.servers=127.0.0.1:";
  EXPECT_EQ(first.rfind(prefix, 0), 0u) << first;
  if (first.rfind(prefix, 0) == 0) {
    KafkaProducerOptions opts;
    opts.brokers = first.substr(std::string("bootstrap.servers=").size());
    auto producer = KafkaProducer::Create(opts);
    ASSERT_OK(producer.status());
    for (const char* topic : {"epi.scans", "epi.alerts.person"}) {
      auto count = (*producer)->PartitionCount(topic);
      ASSERT_OK(count.status());
      EXPECT_EQ(*count, 3) << topic;
    }
    ASSERT_OK((*producer)->Produce("epi.scans", "p1", "{}"));
    EXPECT_OK((*producer)->Flush(5000));
  }
  // The command blocks SIGTERM in its thread and waits for it there.
  ASSERT_EQ(pthread_kill(command_thread, SIGTERM), 0);
  runner.join();
  EXPECT_EQ(rc, 0);
  close(fds[0]);
  close(fds[1]);
}

TEST(BrokerCommandTest, RejectsBadPartitionCount) {
  EXPECT_EQ(RunBrokerCommand(0, {"x"}), 2);
}

}  // namespace
}  // namespace epistream
