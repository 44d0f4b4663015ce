#include "base/bounded_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace cstor {
namespace {

TEST(BoundedQueueTest, FifoAndCapacity) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.TryPush(1));
  EXPECT_TRUE(q.TryPush(2));
  EXPECT_FALSE(q.TryPush(3));  // full
  EXPECT_EQ(*q.Pop(), 1);
  EXPECT_EQ(*q.Pop(), 2);
}

TEST(BoundedQueueTest, CloseDrainsThenEnds) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1));
  q.Close();
  EXPECT_FALSE(q.Push(2));
  EXPECT_EQ(*q.Pop(), 1);
  EXPECT_FALSE(q.Pop().has_value());
}

TEST(BoundedQueueTest, ProducersBlockUntilConsumersCatchUp) {
  BoundedQueue<int> q(3);
  constexpr int kPerProducer = 1000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; p++) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPerProducer; i++) ASSERT_TRUE(q.Push(i));
    });
  }
  long sum = 0;
  for (int i = 0; i < 4 * kPerProducer; i++) {
    auto v = q.Pop();
    ASSERT_TRUE(v.has_value());
    EXPECT_LE(q.size(), q.capacity());
    sum += *v;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(sum, 4L * kPerProducer * (kPerProducer - 1) / 2);
}

}  // namespace
}  // namespace cstor
