#include "wire/frame.h"

#include <fmt/format.h>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cstor::wire {

std::string OpName(Op op) {
  switch (op) {
    case Op::kHello: return "Hello";
    case Op::kChallenge: return "Challenge";
    case Op::kAuth: return "Auth";
    case Op::kWelcome: return "Welcome";
    case Op::kReject: return "Reject";
    case Op::kPing: return "Ping";
    case Op::kWrite: return "Write";
    case Op::kRead: return "Read";
    case Op::kUnmap: return "Unmap";
    case Op::kFlush: return "Flush";
    case Op::kRepair: return "Repair";
    case Op::kSnapshotCreate: return "SnapshotCreate";
    case Op::kSnapshotDelete: return "SnapshotDelete";
    case Op::kSnapshotList: return "SnapshotList";
    case Op::kResize: return "Resize";
    case Op::kStatus: return "Status";
    case Op::kRebuildStart: return "RebuildStart";
    case Op::kRebuildProgress: return "RebuildProgress";
    case Op::kRebuildDone: return "RebuildDone";
    case Op::kHealthy: return "Healthy";
    case Op::kStreamOpen: return "StreamOpen";
    case Op::kStreamNext: return "StreamNext";
    case Op::kBlockVersions: return "BlockVersions";
  }
  return fmt::format("op{}", static_cast<int>(op));
}

bool IsKnownOp(uint8_t op) { return OpName(static_cast<Op>(op)).rfind("op", 0) != 0; }

EncodedFrame Encode(const Frame& f) {
  auto out = std::make_shared<std::string>();
  out->reserve(kHeaderSize + f.payload.size());
  PutFixed32(out.get(), kMagic);
  PutFixed8(out.get(), kVersion);
  PutFixed8(out.get(), static_cast<uint8_t>(f.op));
  PutFixed16(out.get(), f.response ? 1 : 0);
  PutFixed32(out.get(), static_cast<uint32_t>(f.payload.size()));
  PutFixed32(out.get(), crc32c::Value(f.payload.data(), f.payload.size()));
  PutFixed64(out.get(), f.request_id);
  PutFixed32(out.get(), static_cast<uint32_t>(f.status));
  PutFixed32(out.get(), crc32c::Value(out->data(), 28));
  out->append(f.payload);
  return out;
}

Result<Header> DecodeHeader(std::span<const std::byte> bytes) {
  if (bytes.size() < kHeaderSize) return Status::Protocol("frame header is truncated");
  const char* p = reinterpret_cast<const char*>(bytes.data());
  if (DecodeFixedLE<uint32_t>(p) != kMagic) {
    return Status::Protocol("not a cstor replication frame (bad magic)");
  }
  uint8_t version = static_cast<uint8_t>(p[4]);
  if (version != kVersion) {
    return Status::Protocol(fmt::format(
        "replication protocol version {} is not supported (this build speaks {})", version,
        kVersion));
  }
  if (DecodeFixedLE<uint32_t>(p + 28) != crc32c::Value(p, 28)) {
    return Status::Protocol("frame header checksum mismatch");
  }
  Header h;
  uint8_t op = static_cast<uint8_t>(p[5]);
  if (!IsKnownOp(op)) return Status::Protocol(fmt::format("unknown opcode {}", op));
  h.op = static_cast<Op>(op);
  uint16_t flags = DecodeFixedLE<uint16_t>(p + 6);
  if ((flags & ~uint16_t{1}) != 0) {
    return Status::Protocol(fmt::format("unknown frame flags {:#x}", flags));
  }
  h.response = (flags & 1) != 0;
  h.payload_length = DecodeFixedLE<uint32_t>(p + 8);
  h.payload_crc = DecodeFixedLE<uint32_t>(p + 12);
  h.request_id = DecodeFixedLE<uint64_t>(p + 16);
  uint32_t status = DecodeFixedLE<uint32_t>(p + 24);
  if (status > static_cast<uint32_t>(Code::kInternal)) {
    return Status::Protocol(fmt::format("unknown status code {}", status));
  }
  h.status = static_cast<Code>(status);
  if (h.payload_length > kMaxPayload) {
    return Status::Protocol(fmt::format("frame payload of {} bytes exceeds the limit of {}",
                                        h.payload_length, kMaxPayload));
  }
  return h;
}

Result<Frame> FinishFrame(const Header& h, std::string payload) {
  if (payload.size() != h.payload_length) return Status::Protocol("frame payload is truncated");
  if (crc32c::Value(payload.data(), payload.size()) != h.payload_crc) {
    return Status::Protocol(fmt::format("{} frame payload checksum mismatch", OpName(h.op)));
  }
  return Frame{h.op, h.response, h.request_id, h.status, std::move(payload)};
}

Status FrameReader::Feed(std::span<const std::byte> bytes) {
  if (!failed_.ok()) return failed_;
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  failed_ = Parse();
  return failed_;
}

Status FrameReader::Parse() {
  while (true) {
    std::string_view rest = std::string_view(buffer_).substr(consumed_);
    if (!header_) {
      if (rest.size() < kHeaderSize) break;
      CSTOR_ASSIGN_OR_RETURN(
          header_, DecodeHeader(std::as_bytes(std::span(rest.data(), kHeaderSize))));
      consumed_ += kHeaderSize;
      continue;
    }
    if (rest.size() < header_->payload_length) break;
    CSTOR_ASSIGN_OR_RETURN(Frame f,
                           FinishFrame(*header_, std::string(rest.substr(0, header_->payload_length))));
    consumed_ += header_->payload_length;
    header_.reset();
    ready_.push_back(std::move(f));
  }
  if (consumed_ > (1 << 20) || consumed_ == buffer_.size()) {  // keep the buffer small
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return Status::Ok();
}

std::optional<Frame> FrameReader::Next() {
  if (next_ready_ == ready_.size()) {
    ready_.clear();
    next_ready_ = 0;
    return std::nullopt;
  }
  return std::move(ready_[next_ready_++]);
}

}  // namespace cstor::wire
