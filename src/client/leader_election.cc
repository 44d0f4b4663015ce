#include "client/leader_election.h"

#include "api/kube_types.h"
#include "base/log.h"

namespace cstor::client {
namespace {

// Leases use RFC 3339 with microseconds ("MicroTime").
std::string MicroNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, us);
}

bool ParseMicro(const std::string& s, std::chrono::system_clock::time_point* out) {
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return false;
  auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (*rest == '.') {
    int64_t frac = 0;
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) {
      if (digits < 6) frac = frac * 10 + (*rest - '0');
    }
    for (; digits < 6; ++digits) frac *= 10;
    t += std::chrono::microseconds(frac);
  }
  *out = t;
  return true;
}

}  // namespace

LeaderElector::LeaderElector(Client& client, LeaderElectionOptions opts)
    : client_(client), opts_(std::move(opts)) {}

LeaderElector::~LeaderElector() { Stop(); }

bool LeaderElector::TryAcquireOrRenew() {
  const std::string now = MicroNow();
  const int duration_s = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(opts_.lease_duration).count());
  auto current = client_.Get<api::Lease>(opts_.ns, opts_.lease_name);
  if (!current.ok()) {
    if (!IsNotFound(current.status())) return false;
    api::Lease lease;
    lease.metadata.name = opts_.lease_name;
    lease.metadata.namespace_ = opts_.ns;
    lease.spec.holder_identity = opts_.identity;
    lease.spec.lease_duration_seconds = std::max(duration_s, 1);
    lease.spec.acquire_time = now;
    lease.spec.renew_time = now;
    return client_.Create(lease).ok();
  }
  api::Lease lease = std::move(*current);
  const bool ours = lease.spec.holder_identity == opts_.identity;
  if (!ours && !lease.spec.holder_identity.empty()) {
    std::chrono::system_clock::time_point renewed;
    const bool parsed = ParseMicro(lease.spec.renew_time, &renewed);
    const auto expiry = renewed + std::chrono::seconds(lease.spec.lease_duration_seconds);
    if (parsed && std::chrono::system_clock::now() < expiry) return false;  // held by a live leader
  }
  if (!ours) {
    lease.spec.holder_identity = opts_.identity;
    lease.spec.acquire_time = now;
    lease.spec.lease_transitions += 1;
  }
  lease.spec.lease_duration_seconds = std::max(duration_s, 1);
  lease.spec.renew_time = now;
  // The update carries the resourceVersion we read: if another candidate wrote in
  // between, it fails with a conflict and we did not win.
  return client_.Update(lease).ok();
}

void LeaderElector::Start(std::function<void()> on_started_leading,
                          std::function<void()> on_stopped_leading) {
  on_started_ = std::move(on_started_leading);
  on_stopped_ = std::move(on_stopped_leading);
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Run() {
  auto last_renew = std::chrono::steady_clock::now();
  while (!stopping_) {
    const bool held = TryAcquireOrRenew();
    const auto now = std::chrono::steady_clock::now();
    if (held) {
      last_renew = now;
      if (!leading_.exchange(true)) {
        CSTOR_LOG_INFO("leader election: {} leads {}/{}", opts_.identity, opts_.ns, opts_.lease_name);
        if (on_started_) on_started_();
      }
    } else if (leading_ && now - last_renew >= opts_.renew_deadline) {
      CSTOR_LOG_WARN("leader election: {} could not renew {}/{}; stepping down", opts_.identity,
                     opts_.ns, opts_.lease_name);
      leading_ = false;
      if (on_stopped_) on_stopped_();
    }
    MutexLock lock(&mu_);
    if (!stopping_) cv_.WaitFor(opts_.retry_period);
  }
}

void LeaderElector::Stop() {
  if (stopping_.exchange(true)) return;
  {
    MutexLock lock(&mu_);
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  if (leading_.exchange(false)) {
    if (opts_.release_on_stop) {
      // An empty holder lets the next candidate take over at once.
      if (auto lease = client_.Get<api::Lease>(opts_.ns, opts_.lease_name);
          lease.ok() && lease->spec.holder_identity == opts_.identity) {
        lease->spec.holder_identity.clear();
        (void)client_.Update(*lease);
      }
    }
    if (on_stopped_) on_stopped_();
  }
}

}  // namespace cstor::client
