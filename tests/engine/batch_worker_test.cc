// BatchWorker: batches come back in the order submitted, after the work ran
// on the helper thread (never the owner's); recycled batches are handed out
// again as they were left; Drain and the destructor leave nothing behind.
#include "engine/batch_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace epistream {
namespace {

struct Numbers {
  std::vector<int> in;
  std::vector<int> out;  // in, squared, by the helper
  std::thread::id worked_on;
};

void Square(Numbers& b) {
  b.out.clear();
  for (int v : b.in) b.out.push_back(v * v);
  b.worked_on = std::this_thread::get_id();
}

TEST(BatchWorkerTest, BatchesComeBackInOrderWorkedOnTheHelper) {
  BatchWorker<Numbers> worker("epi-test", Square);
  int next = 0;
  int expected = 0;
  for (int round = 0; round < 50; ++round) {
    // Up to three outstanding at a time, of varying sizes.
    while (worker.outstanding() < 3) {
      std::unique_ptr<Numbers> b = worker.NewBatch();
      b->in.clear();
      for (int i = 0; i < 1 + next % 7; ++i) b->in.push_back(next++);
      worker.Submit(std::move(b));
    }
    std::unique_ptr<Numbers> b = worker.Take();
    ASSERT_NE(b, nullptr);
    EXPECT_NE(b->worked_on, std::this_thread::get_id());
    ASSERT_EQ(b->out.size(), b->in.size());
    for (size_t i = 0; i < b->in.size(); ++i) {
      EXPECT_EQ(b->in[i], expected++) << "in order";
      EXPECT_EQ(b->out[i], b->in[i] * b->in[i]);
    }
    worker.Recycle(std::move(b));
  }
  worker.Drain();
  EXPECT_EQ(worker.outstanding(), 0u);
  EXPECT_EQ(worker.Take(), nullptr);
}

TEST(BatchWorkerTest, ARecycledBatchComesBackAsItWasLeft) {
  BatchWorker<Numbers> worker("epi-test", Square);
  std::unique_ptr<Numbers> b = worker.NewBatch();
  b->in = {1, 2, 3};
  Numbers* raw = b.get();
  worker.Submit(std::move(b));
  std::unique_ptr<Numbers> back = worker.Take();
  ASSERT_EQ(back.get(), raw);
  worker.Recycle(std::move(back));
  std::unique_ptr<Numbers> again = worker.NewBatch();
  EXPECT_EQ(again.get(), raw);
  EXPECT_EQ(again->out, (std::vector<int>{1, 4, 9}));
}

TEST(BatchWorkerTest, TheDestructorRunsWhatIsQueued) {
  std::atomic<int> worked{0};
  {
    BatchWorker<Numbers> worker("epi-test", [&](Numbers&) { ++worked; });
    for (int i = 0; i < 5; ++i) worker.Submit(worker.NewBatch());
  }
  EXPECT_EQ(worked.load(), 5);
}

}  // namespace
}  // namespace epistream
