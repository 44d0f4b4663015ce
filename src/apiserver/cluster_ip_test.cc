#include "apiserver/cluster_ip.h"

#include <gtest/gtest.h>

namespace cstor::apiserver {
namespace {

std::set<uint32_t> None() { return {}; }

TEST(ClusterIpTest, HandsOutUsableAddressesRoundRobin) {
  auto a = ClusterIpAllocator::Create("127.100.0.0/30");  // .1 and .2 are usable
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto first = (*a)->Reserve("", None);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->address(), "127.100.0.1");
  auto second = (*a)->Reserve("", None);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->address(), "127.100.0.2");
  auto full = (*a)->Reserve("", None);
  EXPECT_TRUE(full.status().Is(Code::kNoSpace)) << full.status().ToString();
}

TEST(ClusterIpTest, AReservationHoldsItsAddressUntilDropped) {
  auto a = ClusterIpAllocator::Create("127.100.0.0/16");
  ASSERT_TRUE(a.ok());
  {
    // The first Service is not stored yet (in_use does not list it): its reservation
    // alone keeps the address from a second create.
    auto held = (*a)->Reserve("127.100.3.4", None);
    ASSERT_TRUE(held.ok());
    auto again = (*a)->Reserve("127.100.3.4", None);
    EXPECT_FALSE(again.ok());
    EXPECT_NE(again.status().message().find("already allocated"), std::string::npos);
  }
  EXPECT_TRUE((*a)->Reserve("127.100.3.4", None).ok());
  // A stored Service's address is taken whatever the reservations.
  auto stored = (*a)->Reserve("127.100.3.4", [] { return std::set<uint32_t>{0x7f640304}; });
  EXPECT_FALSE(stored.ok());
  // Allocation skips what is in use.
  auto any = (*a)->Reserve("", [] { return std::set<uint32_t>{0x7f640001, 0x7f640002}; });
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->address(), "127.100.0.3");
}

TEST(ClusterIpTest, RefusesAddressesOutsideTheRangeAndBadRanges) {
  auto a = ClusterIpAllocator::Create("127.100.0.0/16");
  ASSERT_TRUE(a.ok());
  for (const char* ip : {"10.0.0.1", "127.100.0.0", "127.100.255.255", "127.101.0.1", "not-an-ip"}) {
    EXPECT_FALSE((*a)->Reserve(ip, None).ok()) << ip;
  }
  for (const char* cidr : {"127.100.0.0", "127.100.0.1/16", "127.0.0.0/31", "10.0.0.0/x", "::1/64"}) {
    EXPECT_FALSE(ClusterIpAllocator::Create(cidr).ok()) << cidr;
  }
}

}  // namespace
}  // namespace cstor::apiserver
