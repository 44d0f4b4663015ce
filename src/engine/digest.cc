#include "engine/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "base/aligned_buffer.h"
#include "base/crc32c.h"
#include "base/check.h"

namespace cstor::engine {
namespace {

constexpr uint64_t kReadBlocks = 256;  // blocks read at once; bounds the buffer

// SHA-256 over fixed-width little-endian fields.
class Hasher {
 public:
  Hasher() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    CSTOR_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1);
  }
  void Add(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = static_cast<unsigned char>(v >> (8 * i));
    CSTOR_CHECK(EVP_DigestUpdate(ctx_.get(), b, sizeof(b)) == 1);
  }
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    CSTOR_CHECK(EVP_DigestFinal_ex(ctx_.get(), md, &n) == 1);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; i++) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

bool IsZero(std::span<const std::byte> data) {
  return std::all_of(data.begin(), data.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

Result<VolumeDigest> DigestVolume(Volume& volume,
                                  const std::function<void(const BlockDigest&)>& per_block) {
  VolumeDigest out;
  out.blocks = volume.size() / volume.block_size();
  // The versions first (the scan holds the volume's io lock), then the data.
  std::vector<std::pair<uint64_t, uint64_t>> data;  // (lba, io_seq) of blocks holding data
  CSTOR_RETURN_IF_ERROR(volume.ForEachBlock([&](uint64_t lba, const BlockRecord& r) {
    if (r.unmapped) {
      out.unmapped_blocks++;
    } else {
      data.emplace_back(lba, r.io_seq);
    }
    return true;
  }));
  Hasher all, nonzero;
  const uint64_t bs = volume.block_size();
  AlignedBuffer buf(kReadBlocks * bs);
  for (size_t i = 0; i < data.size();) {
    // A run of consecutive blocks, read at once.
    size_t j = i + 1;
    while (j < data.size() && j - i < kReadBlocks && data[j].first == data[j - 1].first + 1) j++;
    auto span = buf.span().subspan(0, (j - i) * bs);
    CSTOR_RETURN_IF_ERROR(volume.Read(data[i].first * bs, span));
    for (size_t k = i; k < j; k++) {
      auto block = span.subspan((k - i) * bs, bs);
      BlockDigest d{data[k].first, data[k].second, crc32c::Value(block), IsZero(block)};
      all.Add(d.lba);
      all.Add(d.io_seq);
      all.Add(d.crc);
      if (!d.zero) {
        nonzero.Add(d.lba);
        nonzero.Add(d.crc);
      }
      out.data_blocks++;
      out.zero_blocks += d.zero;
      out.max_io_seq = std::max(out.max_io_seq, d.io_seq);
      if (per_block) per_block(d);
    }
    i = j;
  }
  out.digest = all.Hex();
  out.data_digest = nonzero.Hex();
  return out;
}

}  // namespace cstor::engine
