#include "wire/frame.h"

#include <gtest/gtest.h>

#include <cstring>

#include "base/crc32c.h"
#include "base/random.h"

namespace cstor::wire {
namespace {

std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

Frame Sample() {
  return Frame{Op::kWrite, false, 42, Code::kOk, std::string("payload bytes", 13)};
}

TEST(FrameTest, RoundTripsThroughAReaderFedByteByByte) {
  std::string stream;
  for (int i = 0; i < 5; i++) {
    Frame f = Sample();
    f.request_id = i;
    f.response = i % 2;
    f.status = i == 3 ? Code::kNoSpace : Code::kOk;
    f.payload = std::string(i * 1000, static_cast<char>('a' + i));
    stream += *Encode(f);
  }
  FrameReader reader;
  std::vector<Frame> got;
  for (char c : stream) {
    ASSERT_TRUE(reader.Feed(std::as_bytes(std::span(&c, 1))).ok());
    while (auto f = reader.Next()) got.push_back(std::move(*f));
  }
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(got[i].request_id, uint64_t(i));
    EXPECT_EQ(got[i].response, i % 2 == 1);
    EXPECT_EQ(got[i].payload.size(), size_t(i * 1000));
  }
  EXPECT_EQ(got[3].status, Code::kNoSpace);
  EXPECT_EQ(reader.buffered(), 0u);
}

// Each kind of damage is refused with a message that says what was wrong, and the reader
// stays refused afterwards.
TEST(FrameTest, DamagedFramesAreProtocolErrors) {
  struct Case {
    size_t offset;
    char value;
    const char* expect;
  };
  const Case cases[] = {
      {0, 'X', "bad magic"},
      {4, 1, "version 1 is not supported"},
      {5, 99, "header checksum"},  // a changed opcode breaks the header crc first
      {20, 1, "header checksum"},
      {40, '!', "payload checksum"},
  };
  for (const Case& c : cases) {
    std::string bytes = *Encode(Sample());
    bytes[c.offset] = c.value;
    FrameReader reader;
    Status s = reader.Feed(Bytes(bytes));
    ASSERT_TRUE(s.Is(Code::kProtocol)) << c.expect << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
    EXPECT_FALSE(reader.Feed(Bytes(*Encode(Sample()))).ok());
  }
}

TEST(FrameTest, OversizedAndUnknownFramesAreRefusedBeforeReadingThePayload) {
  std::string header = Encode(Sample())->substr(0, kHeaderSize);
  auto with = [&](size_t at, uint32_t v) {
    std::string h = header;
    std::memcpy(h.data() + at, &v, 4);
    // Recompute the header checksum so that only the field under test is wrong.
    uint32_t crc = crc32c::Value(h.data(), 28);
    std::memcpy(h.data() + 28, &crc, 4);
    return h;
  };
  auto big = DecodeHeader(Bytes(with(8, kMaxPayload + 1)));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("exceeds the limit"), std::string::npos);
  auto unknown = DecodeHeader(Bytes(with(4, 0x0000c802u)));  // version 2, opcode 200
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown opcode 200"), std::string::npos);
  auto flags = DecodeHeader(Bytes(with(4, 0x00021402u)));  // opcode 20, flags 2
  ASSERT_FALSE(flags.ok());
  EXPECT_NE(flags.status().message().find("flags"), std::string::npos);
}

TEST(FrameTest, RandomGarbageNeverCrashesTheReader) {
  Random rng(1);
  for (int round = 0; round < 2000; round++) {
    std::string bytes = *Encode(Sample());
    int flips = static_cast<int>(rng.Range(1, 4));
    for (int i = 0; i < flips; i++) bytes[rng.Uniform(bytes.size())] = static_cast<char>(rng.Next());
    bytes.resize(rng.Uniform(bytes.size() + 1));
    FrameReader reader;
    (void)reader.Feed(Bytes(bytes));
    while (reader.Next()) {
    }
  }
}

}  // namespace
}  // namespace cstor::wire
