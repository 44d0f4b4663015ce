// Service cluster IPs: allocated from one IPv4 range, as kube-apiserver allocates them from
// --service-cluster-ip-range. In local mode the range is on loopback (127.0.0.0/8), so
// whatever the node runtime binds behind a Service is reachable at its address.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "base/mutex.h"
#include "base/result.h"

namespace cstor::apiserver {

class ClusterIpAllocator {
 public:
  // "127.100.0.0/16": the network and broadcast addresses are never handed out.
  static Result<std::unique_ptr<ClusterIpAllocator>> Create(const std::string& cidr);

  // An address held for a Service being created until the reservation is dropped (by
  // then the Service is stored, and so in use, or it is not).
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept : owner_(other.owner_), ip_(other.ip_) { other.owner_ = nullptr; }
    Reservation& operator=(Reservation&&) = delete;
    ~Reservation();
    std::string address() const;

   private:
    friend class ClusterIpAllocator;
    Reservation(ClusterIpAllocator* owner, uint32_t ip) : owner_(owner), ip_(ip) {}
    ClusterIpAllocator* owner_ = nullptr;
    uint32_t ip_ = 0;
  };

  // `requested` ("" for any free address) checked against the range and against the
  // addresses `in_use` returns (those of stored Services) and those reserved now.
  // InvalidArgument: outside the range or taken; NoSpace: the range is full.
  Result<Reservation> Reserve(const std::string& requested,
                              const std::function<std::set<uint32_t>()>& in_use);
  const std::string& cidr() const { return cidr_; }

  static bool ParseIpv4(const std::string& text, uint32_t* out);
  static std::string FormatIpv4(uint32_t ip);

 private:
  ClusterIpAllocator(std::string cidr, uint32_t first, uint32_t last)
      : cidr_(std::move(cidr)), first_(first), last_(last), next_(first) {}
  void Release(uint32_t ip);

  const std::string cidr_;
  const uint32_t first_, last_;  // usable addresses, inclusive
  Mutex mu_;
  uint32_t next_ GUARDED_BY(mu_);
  std::set<uint32_t> reserved_ GUARDED_BY(mu_);
};

}  // namespace cstor::apiserver
