#include "client/expectations.h"

#include <gtest/gtest.h>

namespace cstor::client {
namespace {

using namespace std::chrono_literals;

TEST(ExpectationsTest, SatisfiedOnceEverythingSentIsSeen) {
  FakeClock clock;
  Expectations e(clock);
  EXPECT_TRUE(e.Satisfied("ns/cspc"));
  e.ExpectCreations("ns/cspc", 2);
  e.ExpectDeletions("ns/cspc", 1);
  EXPECT_FALSE(e.Satisfied("ns/cspc"));
  e.CreationObserved("ns/cspc");
  e.DeletionObserved("ns/cspc");
  EXPECT_FALSE(e.Satisfied("ns/cspc"));
  e.CreationObserved("ns/cspc");
  EXPECT_TRUE(e.Satisfied("ns/cspc"));
  // More observations than expected (another writer's objects) change nothing.
  e.CreationObserved("ns/cspc");
  e.ExpectCreations("ns/cspc", 1);
  EXPECT_FALSE(e.Satisfied("ns/cspc"));
  EXPECT_TRUE(e.Satisfied("ns/other"));
}

TEST(ExpectationsTest, ALostEventCannotWedgeAKeyForever) {
  FakeClock clock;
  Expectations e(clock, 5min);
  e.ExpectCreations("ns/cspc", 1);
  clock.Advance(4min);
  EXPECT_FALSE(e.Satisfied("ns/cspc"));
  clock.Advance(1min);
  EXPECT_TRUE(e.Satisfied("ns/cspc"));
  // An expired expectation is moot: a new one does not inherit the creation never seen.
  e.ExpectCreations("ns/cspc", 1);
  EXPECT_FALSE(e.Satisfied("ns/cspc"));
  e.CreationObserved("ns/cspc");
  EXPECT_TRUE(e.Satisfied("ns/cspc"));
  e.ExpectDeletions("ns/cspc", 1);
  e.Forget("ns/cspc");
  EXPECT_TRUE(e.Satisfied("ns/cspc"));
}

}  // namespace
}  // namespace cstor::client
