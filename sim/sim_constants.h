// Shapes shared by the simulation's parts.
#pragma once

#include <cstdint>

namespace cstor::sim {

constexpr uint32_t kBlock = 4096;
constexpr uint64_t kSector = 512;
constexpr const char* kVolume = "pvc-sim";
constexpr const char* kSecret = "sim-secret";

}  // namespace cstor::sim
