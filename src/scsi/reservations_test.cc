#include "scsi/reservations.h"

#include <gtest/gtest.h>

namespace cstor::scsi {
namespace {

Command ProutCdb(uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key) {
  Command c;
  c.cdb[0] = 0x5f;
  c.cdb[1] = sa;
  c.cdb[2] = type;
  c.cdb[8] = 24;
  c.cdb_length = 10;
  c.data_out.assign(24, '\0');
  PutBE(&c.data_out, 0, key, 8);
  PutBE(&c.data_out, 8, sa_key, 8);
  return c;
}

TEST(Reservations, RegisterReserveConflictPreempt) {
  Reservations pr;
  std::vector<Reservations::Attention> ua;
  EXPECT_EQ(pr.Out("a", ProutCdb(0, 0, 0, 0xa), &ua).status, ScsiStatus::kGood);
  EXPECT_EQ(pr.Out("b", ProutCdb(0, 0, 0, 0xb), &ua).status, ScsiStatus::kGood);
  // Wrong key: conflict.
  EXPECT_EQ(pr.Out("a", ProutCdb(1, 1, 0xb, 0), &ua).status, ScsiStatus::kReservationConflict);
  EXPECT_EQ(pr.Out("a", ProutCdb(1, 1, 0xa, 0), &ua).status, ScsiStatus::kGood);  // write exclusive
  EXPECT_TRUE(pr.Conflicts("b", Access::kWrite));
  EXPECT_FALSE(pr.Conflicts("b", Access::kRead));
  EXPECT_FALSE(pr.Conflicts("a", Access::kWrite));
  // b preempts a: a's registration goes, b holds an exclusive-access reservation.
  EXPECT_EQ(pr.Out("b", ProutCdb(4, 3, 0xb, 0xa), &ua).status, ScsiStatus::kGood);
  EXPECT_FALSE(pr.Registered("a"));
  EXPECT_TRUE(pr.Conflicts("a", Access::kRead));
  ASSERT_EQ(ua.size(), 1u);
  EXPECT_EQ(ua[0].nexus, "a");
  // Releasing with the wrong type is an invalid release.
  Response r = pr.Out("b", ProutCdb(2, 1, 0xb, 0), &ua);
  ASSERT_TRUE(r.sense);
  EXPECT_EQ(r.sense->asc, 0x26);
  EXPECT_EQ(pr.Out("b", ProutCdb(2, 3, 0xb, 0), &ua).status, ScsiStatus::kGood);
  EXPECT_FALSE(pr.Conflicts("a", Access::kWrite));
}

TEST(Reservations, ReadKeysAndReservation) {
  Reservations pr;
  std::vector<Reservations::Attention> ua;
  (void)pr.Out("a", ProutCdb(0, 0, 0, 0x1122), &ua);
  (void)pr.Out("a", ProutCdb(1, 5, 0x1122, 0), &ua);
  Command in;
  in.cdb[0] = 0x5e;
  in.cdb[1] = 0;
  std::string keys = pr.In(in).data;
  EXPECT_EQ(GetBE(keys, 4, 4), 8u);
  EXPECT_EQ(GetBE(keys, 8, 8), 0x1122u);
  in.cdb[1] = 1;
  std::string res = pr.In(in).data;
  EXPECT_EQ(GetBE(res, 4, 4), 16u);
  EXPECT_EQ(res[21], 5);
  // Registrants-only: another registrant may write, a stranger may not.
  (void)pr.Out("b", ProutCdb(0, 0, 0, 0x33), &ua);
  EXPECT_FALSE(pr.Conflicts("b", Access::kWrite));
  EXPECT_TRUE(pr.Conflicts("c", Access::kWrite));
}

}  // namespace
}  // namespace cstor::scsi
