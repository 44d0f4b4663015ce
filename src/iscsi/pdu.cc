#include "iscsi/pdu.h"

#include <fmt/format.h>

#include "base/crc32c.h"

namespace cstor::iscsi {
namespace {

size_t Pad4(size_t n) { return (4 - n % 4) % 4; }

void AppendDigest(std::string* out, size_t from) {
  uint32_t crc = crc32c::Value(out->data() + from, out->size() - from);
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>(crc >> (8 * i)));  // little-endian
}

uint32_t GetDigest(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

}  // namespace

void Pdu::AppendTo(std::string* out, bool header_digest, bool data_digest) const {
  Pdu copy = *this;
  copy.bhs[4] = static_cast<uint8_t>(ahs.size() / 4);
  const uint32_t dlen = static_cast<uint32_t>(data.size());
  copy.bhs[5] = static_cast<uint8_t>(dlen >> 16);
  copy.bhs[6] = static_cast<uint8_t>(dlen >> 8);
  copy.bhs[7] = static_cast<uint8_t>(dlen);
  size_t start = out->size();
  out->append(reinterpret_cast<const char*>(copy.bhs.data()), kBhsSize);
  out->append(ahs);
  if (header_digest) AppendDigest(out, start);
  if (data.empty()) return;
  size_t data_start = out->size();
  out->append(data);
  out->append(Pad4(data.size()), '\0');
  if (data_digest) AppendDigest(out, data_start);
}

Result<size_t> PduParser::Parse(std::string_view b, Pdu* out) const {
  if (b.size() < kBhsSize) return size_t{0};
  const auto* h = reinterpret_cast<const uint8_t*>(b.data());
  const size_t ahs_len = size_t{h[4]} * 4;
  const uint32_t dlen = uint32_t{h[5]} << 16 | uint32_t{h[6]} << 8 | h[7];
  if (dlen > max_data_) {
    return Status::Protocol(fmt::format("data segment of {} bytes exceeds the {} negotiated",
                                        dlen, max_data_));
  }
  const size_t header_end = kBhsSize + ahs_len + (header_digest_ ? 4 : 0);
  const size_t data_end = header_end + dlen + Pad4(dlen) + (data_digest_ && dlen ? 4 : 0);
  if (b.size() < data_end) return size_t{0};
  if (header_digest_ && crc32c::Value(b.data(), kBhsSize + ahs_len) !=
                            GetDigest(b, kBhsSize + ahs_len)) {
    return Status::Protocol("header digest mismatch");
  }
  if (data_digest_ && dlen &&
      crc32c::Value(b.data() + header_end, dlen + Pad4(dlen)) != GetDigest(b, data_end - 4)) {
    return Status::Corruption("data digest mismatch");
  }
  std::copy(h, h + kBhsSize, out->bhs.begin());
  out->ahs.assign(b.substr(kBhsSize, ahs_len));
  out->data.assign(b.substr(header_end, dlen));
  return data_end;
}

Result<TextPairs> ParseText(std::string_view data) {
  TextPairs out;
  while (!data.empty()) {
    size_t end = data.find('\0');
    std::string_view item = data.substr(0, end);
    data = end == std::string_view::npos ? std::string_view() : data.substr(end + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq > 63) {
      return Status::Protocol(fmt::format("malformed text key \"{}\"", item.substr(0, 64)));
    }
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

std::string EncodeText(const TextPairs& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) out += k + "=" + v + '\0';
  return out;
}

}  // namespace cstor::iscsi
