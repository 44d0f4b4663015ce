// Fixed-width integer encoding. Record values are little-endian; keys are big-endian so
// that byte order equals numeric order in sorted stores.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cstor {

inline void PutFixed8(std::string* dst, uint8_t v) { dst->push_back(static_cast<char>(v)); }

template <typename T>
inline void PutFixedLE(std::string* dst, T v) {
  char buf[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); i++) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, sizeof(T));
}
inline void PutFixed16(std::string* dst, uint16_t v) { PutFixedLE(dst, v); }
inline void PutFixed32(std::string* dst, uint32_t v) { PutFixedLE(dst, v); }
inline void PutFixed64(std::string* dst, uint64_t v) { PutFixedLE(dst, v); }

template <typename T>
inline T DecodeFixedLE(const void* p) {
  auto* b = static_cast<const unsigned char*>(p);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); i++) v |= static_cast<T>(b[i]) << (8 * i);
  return v;
}

inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; i++) buf[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  dst->append(buf, 8);
}
inline void PutBigEndian32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; i++) buf[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  dst->append(buf, 4);
}
inline uint64_t DecodeBigEndian64(const void* p) {
  auto* b = static_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
  return v;
}
inline uint32_t DecodeBigEndian32(const void* p) {
  auto* b = static_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = (v << 8) | b[i];
  return v;
}

// Length-prefixed (u32 LE) byte string.
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutFixed32(dst, static_cast<uint32_t>(s.size()));
  dst->append(s);
}

// Reads fixed-width fields from a byte string, remembering whether it ran off the end.
// Decoders check ok() once at the end instead of after every field.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  uint8_t U8() { return Take<uint8_t>(); }
  uint16_t U16() { return Take<uint16_t>(); }
  uint32_t U32() { return Take<uint32_t>(); }
  uint64_t U64() { return Take<uint64_t>(); }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string_view LengthPrefixed() { return Bytes(U32()); }

  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  template <typename T>
  T Take() {
    if (!Need(sizeof(T))) return 0;
    T v = DecodeFixedLE<T>(in_.data());
    in_.remove_prefix(sizeof(T));
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace cstor
