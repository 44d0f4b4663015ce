#include "apiserver/cluster_ip.h"

#include <arpa/inet.h>

#include <fmt/format.h>

namespace cstor::apiserver {

bool ClusterIpAllocator::ParseIpv4(const std::string& text, uint32_t* out) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

std::string ClusterIpAllocator::FormatIpv4(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

Result<std::unique_ptr<ClusterIpAllocator>> ClusterIpAllocator::Create(const std::string& cidr) {
  const size_t slash = cidr.find('/');
  uint32_t base = 0;
  int bits = -1;
  if (slash != std::string::npos && ParseIpv4(cidr.substr(0, slash), &base)) {
    try {
      size_t used = 0;
      bits = std::stoi(cidr.substr(slash + 1), &used);
      if (used != cidr.size() - slash - 1) bits = -1;
    } catch (const std::exception&) {
      bits = -1;
    }
  }
  if (bits < 8 || bits > 30) {
    return Status::InvalidArgument(fmt::format(
        "service cluster IP range \"{}\" is not an IPv4 CIDR between /8 and /30", cidr));
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  if ((base & ~mask) != 0) {
    return Status::InvalidArgument(fmt::format("service cluster IP range \"{}\" has host bits set", cidr));
  }
  return std::unique_ptr<ClusterIpAllocator>(new ClusterIpAllocator(cidr, base + 1, (base | ~mask) - 1));
}

ClusterIpAllocator::Reservation::~Reservation() {
  if (owner_ != nullptr) owner_->Release(ip_);
}

std::string ClusterIpAllocator::Reservation::address() const { return FormatIpv4(ip_); }

void ClusterIpAllocator::Release(uint32_t ip) {
  MutexLock lock(&mu_);
  reserved_.erase(ip);
}

Result<ClusterIpAllocator::Reservation> ClusterIpAllocator::Reserve(
    const std::string& requested, const std::function<std::set<uint32_t>()>& in_use) {
  MutexLock lock(&mu_);
  const std::set<uint32_t> used = in_use();
  auto taken = [&](uint32_t ip) { return used.count(ip) != 0 || reserved_.count(ip) != 0; };
  if (!requested.empty()) {
    uint32_t ip = 0;
    if (!ParseIpv4(requested, &ip)) {
      return Status::InvalidArgument(fmt::format("must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
    }
    if (ip < first_ || ip > last_) {
      return Status::InvalidArgument(fmt::format(
          "failed to allocate IP {}: the provided IP ({}) is not in the valid range. The range of "
          "valid IPs is {}", requested, requested, cidr_));
    }
    if (taken(ip)) {
      return Status::InvalidArgument(fmt::format("failed to allocate IP {}: provided IP is already allocated", requested));
    }
    reserved_.insert(ip);
    return Reservation(this, ip);
  }
  // Round robin from the last address handed out, so a deleted Service's address is not
  // reused at once by the next one.
  const uint64_t size = uint64_t{last_} - first_ + 1;
  for (uint64_t i = 0; i < size; ++i) {
    const uint32_t ip = first_ + static_cast<uint32_t>((uint64_t{next_} - first_ + i) % size);
    if (taken(ip)) continue;
    next_ = ip == last_ ? first_ : ip + 1;
    reserved_.insert(ip);
    return Reservation(this, ip);
  }
  return Status::NoSpace("failed to allocate a serviceIP: range is full");
}

}  // namespace cstor::apiserver
