#include "scsi/logical_unit.h"

#include <gtest/gtest.h>

#include <deque>

#include "bdev/memory_device.h"

namespace cstor::scsi {
namespace {

// Runs a logical unit over a memory device, with posted work run in order by the test.
class LunTest : public ::testing::Test {
 protected:
  LunTest() : device_(1 << 20, "serial-1"), lun_(&device_, {}, [this](auto fn) { work_.push_back(std::move(fn)); }) {}

  Response Run(std::initializer_list<uint8_t> cdb, std::string data_out = {},
               std::string nexus = "iqn.test,i,0x1") {
    Command c;
    std::copy(cdb.begin(), cdb.end(), c.cdb.begin());
    c.cdb_length = static_cast<uint8_t>(cdb.size());
    c.data_out = std::move(data_out);
    c.nexus = std::move(nexus);
    std::optional<Response> out;
    lun_.Execute(std::move(c), [&](Response r) { out = std::move(r); });
    while (!out && !work_.empty()) {
      auto fn = std::move(work_.front());
      work_.pop_front();
      fn();
    }
    EXPECT_TRUE(out.has_value());
    return out.value_or(Response{});
  }
  static void ExpectSense(const Response& r, SenseKey key, uint8_t asc, uint8_t ascq = 0) {
    ASSERT_EQ(r.status, ScsiStatus::kCheckCondition);
    ASSERT_TRUE(r.sense);
    EXPECT_EQ(r.sense->key, key);
    EXPECT_EQ(r.sense->asc, asc);
    EXPECT_EQ(r.sense->ascq, ascq);
  }

  bdev::MemoryDevice device_;
  std::deque<std::function<void()>> work_;
  LogicalUnit lun_;
};

TEST_F(LunTest, WritesAndReadsBack) {
  std::string data(1024, 'x');
  EXPECT_EQ(Run({0x2a, 0, 0, 0, 0, 2, 0, 0, 2, 0}, data).status, ScsiStatus::kGood);
  Response r = Run({0x28, 0, 0, 0, 0, 2, 0, 0, 2, 0});
  EXPECT_EQ(r.status, ScsiStatus::kGood);
  EXPECT_EQ(r.data, data);
  // READ(16) of the same blocks.
  r = Run({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0});
  EXPECT_EQ(r.data, data);
}

TEST_F(LunTest, RefusesOutOfRangeAndBadFields) {
  const uint32_t blocks = (1 << 20) / 512;
  ExpectSense(Run({0x28, 0, 0, 0, 0x08, 0x00, 0, 0, 1, 0}), SenseKey::kIllegalRequest, 0x21);
  EXPECT_EQ(blocks, 2048u);
  ExpectSense(Run({0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0}), SenseKey::kIllegalRequest, 0x21);
  ExpectSense(Run({0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0}), SenseKey::kIllegalRequest, 0x24);
  ExpectSense(Run({0xc0, 0, 0, 0, 0, 0}), SenseKey::kIllegalRequest, 0x20);
  ExpectSense(Run({0x00, 0, 0, 0, 0, 0x04}), SenseKey::kIllegalRequest, 0x24);  // NACA
}

TEST_F(LunTest, InquiryAndVpd) {
  Response r = Run({0x12, 0, 0, 0, 96, 0});
  ASSERT_EQ(r.status, ScsiStatus::kGood);
  EXPECT_EQ(r.data.substr(8, 8), "OpenEBS ");
  EXPECT_EQ(static_cast<uint8_t>(r.data[4]) + 5u, r.data.size());
  r = Run({0x12, 1, 0x80, 0, 255, 0});
  EXPECT_EQ(r.data.substr(4), "serial-1");
  r = Run({0x12, 1, 0xb2, 0, 255, 0});
  EXPECT_EQ(static_cast<uint8_t>(r.data[5]) & 0x80, 0x80);  // LBPU
  ExpectSense(Run({0x12, 1, 0x99, 0, 255, 0}), SenseKey::kIllegalRequest, 0x24);
}

TEST_F(LunTest, UnmapAndWriteSameDeallocate) {
  Run({0x2a, 0, 0, 0, 0, 0, 0, 0, 16, 0}, std::string(8192, 'a'));
  EXPECT_EQ(device_.allocated_pages(), 2u);
  std::string unmap(24, '\0');
  unmap[1] = 22;
  unmap[3] = 16;
  unmap[8 + 7] = 0;   // lba 0
  unmap[8 + 11] = 8;  // 8 blocks
  EXPECT_EQ(Run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, unmap).status, ScsiStatus::kGood);
  EXPECT_EQ(device_.allocated_pages(), 1u);
  // WRITE SAME(16) with UNMAP and a zero block deallocates the rest.
  EXPECT_EQ(Run({0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0}, std::string(512, '\0')).status,
            ScsiStatus::kGood);
  EXPECT_EQ(device_.allocated_pages(), 0u);
  Response r = Run({0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0});
  ASSERT_EQ(r.status, ScsiStatus::kGood);
  EXPECT_EQ(r.data[8 + 12], 1);  // deallocated
}

// libiscsi's GetLBAStatus.UnmapSingle: an UNMAP of single logical blocks inside a 4 KiB
// page is reported per logical block, which needs LBPPBE 0 (its descriptors start where
// asked), while VPD B0 still asks for 4 KiB-aligned IO.
TEST_F(LunTest, SingleBlockUnmapIsReportedPerLogicalBlock) {
  Response cap = Run({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0});
  ASSERT_EQ(cap.status, ScsiStatus::kGood);
  EXPECT_EQ(cap.data[13] & 0x0f, 0);  // logical blocks per physical block exponent
  Response b0 = Run({0x12, 1, 0xb0, 0, 255, 0});
  EXPECT_EQ(GetBE(b0.data, 6, 2), 8u);   // optimal transfer length granularity: 4 KiB
  EXPECT_EQ(GetBE(b0.data, 28, 4), 8u);  // optimal unmap granularity: 4 KiB
  Run({0x2a, 0, 0, 0, 0, 0, 0, 0, 16, 0}, std::string(8192, 'a'));
  std::string unmap(24, '\0');
  unmap[1] = 22;
  unmap[3] = 16;
  unmap[8 + 7] = 3;   // lba 3
  unmap[8 + 11] = 1;  // 1 block
  ASSERT_EQ(Run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, unmap).status, ScsiStatus::kGood);
  EXPECT_EQ(Run({0x28, 0, 0, 0, 0, 3, 0, 0, 1, 0}).data, std::string(512, '\0'));
  Response r = Run({0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 64, 0, 0});
  ASSERT_EQ(r.status, ScsiStatus::kGood);
  EXPECT_EQ(GetBE(r.data, 8, 8), 3u);
  EXPECT_EQ(GetBE(r.data, 16, 4), 1u);
  EXPECT_EQ(r.data[8 + 12], 1);  // deallocated: the block holds no data
  r = Run({0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 64, 0, 0});
  EXPECT_EQ(GetBE(r.data, 8, 8), 4u);
  EXPECT_EQ(GetBE(r.data, 16, 4), 12u);
  EXPECT_EQ(r.data[8 + 12], 0);  // mapped
  // The page goes once all of its blocks are unmapped.
  EXPECT_EQ(device_.allocated_pages(), 2u);
  unmap[8 + 7] = 0;
  unmap[8 + 11] = 3;
  Run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, unmap);
  unmap[8 + 7] = 4;
  unmap[8 + 11] = 4;
  Run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, unmap);
  EXPECT_EQ(device_.allocated_pages(), 1u);
}

TEST_F(LunTest, CompareAndWrite) {
  Run({0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, std::string(512, 'a'));
  std::string good = std::string(512, 'a') + std::string(512, 'b');
  EXPECT_EQ(Run({0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, good).status, ScsiStatus::kGood);
  std::string bad = std::string(100, 'b') + std::string(412, 'x') + std::string(512, 'c');
  Response r = Run({0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, bad);
  ExpectSense(r, SenseKey::kMiscompare, 0x1d);
  EXPECT_EQ(r.sense->information, 100u);
  EXPECT_EQ(Run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}).data, std::string(512, 'b'));
}

TEST_F(LunTest, ModeSenseAndSelectToggleWriteCache) {
  Response r = Run({0x1a, 0x08, 0x08, 0, 255, 0});
  ASSERT_EQ(r.status, ScsiStatus::kGood);
  EXPECT_EQ(r.data[4], 0x08);
  EXPECT_EQ(r.data[6] & 0x04, 0x04);  // WCE
  std::string sel = std::string(4, '\0') + r.data.substr(4);
  sel[6] = 0;  // WCE off
  EXPECT_EQ(Run({0x15, 0x10, 0, 0, static_cast<uint8_t>(sel.size()), 0}, sel).status,
            ScsiStatus::kGood);
  r = Run({0x1a, 0x08, 0x08, 0, 255, 0});
  EXPECT_EQ(r.data[6] & 0x04, 0);
  ExpectSense(Run({0x1a, 0, 0xc8, 0, 255, 0}), SenseKey::kIllegalRequest, 0x39);
}

TEST_F(LunTest, Spc2ReservationConflictsForOthers) {
  EXPECT_EQ(Run({0x16, 0, 0, 0, 0, 0}, {}, "a").status, ScsiStatus::kGood);
  EXPECT_EQ(Run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, "b").status,
            ScsiStatus::kReservationConflict);
  EXPECT_EQ(Run({0x12, 0, 0, 0, 36, 0}, {}, "b").status, ScsiStatus::kGood);
  EXPECT_EQ(Run({0x17, 0, 0, 0, 0, 0}, {}, "a").status, ScsiStatus::kGood);
  EXPECT_EQ(Run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, "b").status, ScsiStatus::kGood);
}

TEST_F(LunTest, ResetRaisesUnitAttentionOnce) {
  Run({0x00, 0, 0, 0, 0, 0});
  lun_.Reset({"iqn.test,i,0x1"});
  ExpectSense(Run({0x00, 0, 0, 0, 0, 0}), SenseKey::kUnitAttention, 0x29);
  EXPECT_EQ(Run({0x00, 0, 0, 0, 0, 0}).status, ScsiStatus::kGood);
}

// Online resize: once the device has grown, READ CAPACITY reports the new size and every
// nexus that has used the unit gets CAPACITY DATA HAS CHANGED (2Ah/09h), once.
TEST_F(LunTest, GrownDeviceIsReportedWithOneUnitAttentionPerNexus) {
  const std::initializer_list<uint8_t> kCapacity16 = {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0};
  const std::initializer_list<uint8_t> kTur = {0x00, 0, 0, 0, 0, 0};
  EXPECT_EQ(GetBE(Run(kCapacity16, {}, "a").data, 0, 8), 2047u);
  EXPECT_EQ(Run(kTur, {}, "b").status, ScsiStatus::kGood);
  ASSERT_TRUE(device_.Grow(2 << 20).ok());
  ASSERT_TRUE(device_.Grow(3 << 20).ok());  // two grows before anyone looks: one attention
  ExpectSense(Run(kTur, {}, "a"), SenseKey::kUnitAttention, 0x2a, 0x09);
  EXPECT_EQ(Run(kTur, {}, "a").status, ScsiStatus::kGood);
  EXPECT_EQ(GetBE(Run(kCapacity16, {}, "a").data, 0, 8), 6143u);
  ExpectSense(Run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {}, "b"), SenseKey::kUnitAttention, 0x2a, 0x09);
  Response cap10 = Run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {}, "b");
  EXPECT_EQ(GetBE(cap10.data, 0, 4), 6143u);
  // A nexus that had not used the unit has no older size to forget.
  EXPECT_EQ(Run(kTur, {}, "c").status, ScsiStatus::kGood);
  // The new blocks take IO; past them is still out of range.
  EXPECT_EQ(Run({0x2a, 0, 0, 0, 0x17, 0xff, 0, 0, 1, 0}, std::string(512, 'g'), "a").status,
            ScsiStatus::kGood);
  ExpectSense(Run({0x28, 0, 0, 0, 0x18, 0x00, 0, 0, 1, 0}, {}, "a"), SenseKey::kIllegalRequest, 0x21);
  EXPECT_FALSE(device_.Grow(1 << 20).ok());  // never shrinks
}

TEST_F(LunTest, ReportSupportedOpcodesListsTheTable) {
  Response r = Run({0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0});
  ASSERT_EQ(r.status, ScsiStatus::kGood);
  EXPECT_EQ(GetBE(r.data, 0, 4), CommandTable().size() * 8);
  r = Run({0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0, 64, 0, 0});
  EXPECT_EQ(r.data[1] & 0x07, 3);
  EXPECT_EQ(GetBE(r.data, 2, 2), 10u);
}

// A device that cannot serve IO for now (a replicated volume without a quorum).
class UnavailableDevice final : public bdev::BlockDevice {
 public:
  bdev::DeviceInfo Info() const override { return {1 << 20, 4096, true, "unavailable"}; }
  void Read(uint64_t, uint32_t, ReadDone done) override { done(Status::Unavailable("no quorum")); }
  void Write(uint64_t, std::string, bool, Done done) override {
    done(Status::Unavailable("no quorum"));
  }
  void Unmap(uint64_t, uint64_t, Done done) override { done(Status::Unavailable("no quorum")); }
  void Flush(Done done) override { done(Status::Unavailable("no quorum")); }
};

TEST(LunErrors, UnavailableDeviceIsBecomingReady) {
  // NOT READY 04/01 (becoming ready) makes initiators retry; 04/00 would fail IO at once.
  UnavailableDevice device;
  LogicalUnit lun(&device, {}, [](std::function<void()> fn) { fn(); });
  for (uint8_t op : {uint8_t{0x28}, uint8_t{0x2a}, uint8_t{0x35}}) {
    Command c;
    c.cdb = {op, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    c.cdb_length = 10;
    if (op == 0x2a) c.data_out.assign(512, 'x');
    c.nexus = "iqn.test,i,0x1";
    std::optional<Response> r;
    lun.Execute(std::move(c), [&](Response resp) { r = std::move(resp); });
    ASSERT_TRUE(r) << "opcode " << int{op};
    ASSERT_EQ(r->status, ScsiStatus::kCheckCondition);
    ASSERT_TRUE(r->sense);
    EXPECT_EQ(r->sense->key, SenseKey::kNotReady);
    EXPECT_EQ(r->sense->asc, 0x04);
    EXPECT_EQ(r->sense->ascq, 0x01);
  }
}

}  // namespace
}  // namespace cstor::scsi
