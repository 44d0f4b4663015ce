#include "replication/volume_status.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/units.h"

namespace cstor::replication {

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kInit: return "Init";
    case Phase::kHealthy: return "Healthy";
    case Phase::kDegraded: return "Degraded";
    case Phase::kOffline: return "Offline";
  }
  return "?";
}

std::string_view ModeName(ReplicaMode m) {
  switch (m) {
    case ReplicaMode::kConnecting: return "Connecting";
    case ReplicaMode::kDegraded: return "Degraded";
    case ReplicaMode::kRebuilding: return "Rebuilding";
    case ReplicaMode::kHealthy: return "Healthy";
  }
  return "?";
}

std::string RebuildProgressText(const ReplicaStatus& r) {
  if (r.mode != ReplicaMode::kRebuilding) return "";
  if (r.rebuild_total_bytes == 0) return "estimating";
  const uint64_t done = std::min(r.rebuild_done_bytes, r.rebuild_total_bytes);
  return fmt::format("{}/{} ({}%)", FormatBytes(done), FormatBytes(r.rebuild_total_bytes),
                     done * 100 / r.rebuild_total_bytes);
}

}  // namespace cstor::replication
