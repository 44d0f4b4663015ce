// Writing the protobuf wire format: one encoded field per call, concatenated by the
// caller. For the OpenAPI v2 document and for tests that build what kubectl sends.
#pragma once

#include <cstdint>
#include <string>

namespace cstor::apiserver::pbwrite {

inline std::string Varint(uint64_t v) {
  std::string out;
  do {
    const uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(static_cast<char>(v ? b | 0x80 : b));
  } while (v);
  return out;
}
// A length-delimited field: a string, bytes, or an embedded message.
inline std::string Bytes(uint32_t field, const std::string& data) {
  return Varint(uint64_t{field} << 3 | 2) + Varint(data.size()) + data;
}
// A varint field: an integer or a bool.
inline std::string Int(uint32_t field, uint64_t v) { return Varint(uint64_t{field} << 3) + Varint(v); }

}  // namespace cstor::apiserver::pbwrite
