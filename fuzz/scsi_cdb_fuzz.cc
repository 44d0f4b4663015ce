// libFuzzer target: sequences of arbitrary SCSI commands (CDB, data-out, the I_T nexus)
// into a logical unit over a small memory device, interleaved with resets and logouts.
// Nothing may crash or read out of bounds; every command must be answered exactly once,
// and its answer must be well formed: CHECK CONDITION with sense data and no Data-In,
// anything else without sense data.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bdev/memory_device.h"
#include "scsi/logical_unit.h"

namespace {

using namespace cstor;

// Each record: [cdb length selector][nexus][flags][data-out length, 2 bytes][16 CDB bytes]
// [data-out bytes].
constexpr size_t kRecordHeader = 5 + 16;
const char* const kNexuses[] = {"iqn.a,i,0x1", "iqn.b,i,0x2", "iqn.c,i,0x3"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bdev::MemoryDevice device(1 << 20, "fuzz");  // 2048 blocks
  scsi::LunOptions options;
  options.max_transfer_blocks = 256;
  // Inline posting: with a memory device every command completes before Execute returns,
  // except those waiting behind another command's range lock.
  scsi::LogicalUnit lun(&device, options, [](std::function<void()> fn) { fn(); });
  std::vector<int> answers;  // per command issued: how many times it was answered
  size_t at = 0;
  while (size - at >= kRecordHeader) {
    const uint8_t* r = data + at;
    static constexpr uint8_t kLengths[] = {6, 10, 12, 16};
    scsi::Command cmd;
    cmd.cdb_length = kLengths[r[0] % 4];
    cmd.nexus = kNexuses[r[1] % 3];
    const uint8_t flags = r[2];
    size_t data_out = (size_t{r[3]} << 8 | r[4]) % 8192;
    std::copy(r + 5, r + 21, cmd.cdb.begin());
    at += kRecordHeader;
    data_out = std::min(data_out, size - at);
    cmd.data_out.assign(reinterpret_cast<const char*>(data + at), data_out);
    at += data_out;
    if (flags == 0xfe) {
      lun.Reset({kNexuses[0], kNexuses[1], kNexuses[2]});
      continue;
    }
    if (flags == 0xfd) {
      lun.NexusGone(cmd.nexus);
      continue;
    }
    const size_t index = answers.size();
    answers.push_back(0);
    lun.Execute(std::move(cmd), [&answers, index](scsi::Response resp) {
      if (++answers[index] > 1) std::abort();
      const bool check = resp.status == scsi::ScsiStatus::kCheckCondition;
      if (check != resp.sense.has_value() || (check && !resp.data.empty())) std::abort();
    });
  }
  // Nothing else is running, so no command can still be waiting for a lock.
  for (int n : answers) {
    if (n != 1) std::abort();
  }
  return 0;
}
