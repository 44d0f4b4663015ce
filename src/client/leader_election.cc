#include "client/leader_election.h"

#include "api/kube_types.h"
#include "base/check.h"
#include "base/log.h"

namespace cstor::client {
namespace {

// Leases use RFC 3339 with microseconds ("MicroTime").
std::string MicroTime(Clock::WallTime now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, us);
}

// Every request is one attempt, bounded so that a round (a read and a write) takes at
// most half the renew deadline: a renewal that cannot finish is given up with time left
// in the term.
RetryPolicy OneAttempt(const LeaderElectionOptions& o) {
  RetryPolicy p;
  p.attempts = 1;
  p.attempt_timeout = std::max<std::chrono::milliseconds>(o.renew_deadline / 4, std::chrono::milliseconds(100));
  return p;
}

}  // namespace

LeaderElector::LeaderElector(const Client& client, LeaderElectionOptions opts, const Clock& clock)
    : client_(client.config(), OneAttempt(opts)), opts_(std::move(opts)), clock_(clock) {
  // The safety argument (leader_election.h) needs retry_period < renew_deadline < lease_duration.
  CSTOR_CHECK(opts_.retry_period < opts_.renew_deadline && opts_.renew_deadline < opts_.lease_duration);
}

LeaderElector::~LeaderElector() { Stop(); }

bool LeaderElector::TermCurrentLocked() const {
  return leading_ && clock_.Now() < renew_sent_ + opts_.renew_deadline;
}

bool LeaderElector::IsLeader() const {
  MutexLock lock(&mu_);
  return TermCurrentLocked();
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto sent = clock_.Now();
  const std::string now = MicroTime(clock_.WallNow());
  const int duration_s = std::max(1, static_cast<int>(std::chrono::ceil<std::chrono::seconds>(opts_.lease_duration).count()));
  auto won = [&](const api::Lease& written) {
    MutexLock lock(&mu_);
    renew_sent_ = sent;
    observed_record_ = written.metadata.resource_version;
    observed_at_ = sent;
    return true;
  };
  auto current = client_.Get<api::Lease>(opts_.ns, opts_.lease_name);
  if (!current.ok()) {
    if (!IsNotFound(current.status())) return false;
    api::Lease lease;
    lease.metadata.name = opts_.lease_name;
    lease.metadata.namespace_ = opts_.ns;
    lease.spec.holder_identity = opts_.identity;
    lease.spec.lease_duration_seconds = duration_s;
    lease.spec.acquire_time = now;
    lease.spec.renew_time = now;
    auto made = client_.Create(lease);
    return made.ok() && won(*made);
  }
  api::Lease lease = std::move(*current);
  const bool ours = lease.spec.holder_identity == opts_.identity;
  if (!ours && !lease.spec.holder_identity.empty()) {
    // Held by another: free only once we have seen this very record unchanged for its
    // duration on our clock.
    MutexLock lock(&mu_);
    const std::string record = lease.metadata.resource_version;
    if (record != observed_record_) {
      observed_record_ = record;
      observed_at_ = clock_.Now();
    }
    const auto duration = std::chrono::seconds(std::max(lease.spec.lease_duration_seconds, 1));
    if (clock_.Now() < observed_at_ + duration) return false;
  }
  if (!ours) {
    lease.spec.holder_identity = opts_.identity;
    lease.spec.acquire_time = now;
    lease.spec.lease_transitions += 1;
  }
  lease.spec.lease_duration_seconds = duration_s;
  lease.spec.renew_time = now;
  // The update carries the resourceVersion we read: if another candidate wrote in
  // between, it fails with a conflict and we did not win.
  auto written = client_.Update(lease);
  return written.ok() && won(*written);
}

void LeaderElector::Start(std::function<void()> on_started_leading,
                          std::function<void()> on_stopped_leading) {
  on_started_ = std::move(on_started_leading);
  on_stopped_ = std::move(on_stopped_leading);
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Run() {
  while (!stopping_) {
    const bool held = TryAcquireOrRenew();
    bool started = false, stopped = false;
    {
      MutexLock lock(&mu_);
      if (held && !leading_) {
        leading_ = true;
        started = TermCurrentLocked();
        if (!started) leading_ = false;  // won, but the request took the whole term
      } else if (leading_ && !TermCurrentLocked()) {
        leading_ = false;
        stopped = true;
      }
    }
    if (started) {
      CSTOR_LOG_INFO("leader election: {} leads {}/{}", opts_.identity, opts_.ns, opts_.lease_name);
      if (on_started_) on_started_();
    }
    if (stopped) {
      CSTOR_LOG_WARN("leader election: {} could not renew {}/{} within {} ms; stepping down",
                     opts_.identity, opts_.ns, opts_.lease_name, opts_.renew_deadline.count());
      if (on_stopped_) on_stopped_();
    }
    // Wake at the next round, or when the term ends if that is sooner, so that
    // on_stopped_leading is called on time even when renewals keep failing fast.
    MutexLock lock(&mu_);
    auto next = clock_.Now() + opts_.retry_period;
    if (leading_) next = std::min(next, renew_sent_ + opts_.renew_deadline);
    while (!stopping_ && clock_.Now() < next) clock_.WaitUntil(&cv_, next);
  }
}

void LeaderElector::Stop() {
  if (stopping_.exchange(true)) return;
  {
    MutexLock lock(&mu_);
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  bool was_leading;
  {
    MutexLock lock(&mu_);
    was_leading = std::exchange(leading_, false);
  }
  if (!was_leading) return;
  // The work stops first: once the lease is released another candidate takes it at once.
  if (on_stopped_) on_stopped_();
  if (opts_.release_on_stop) {
    // An empty holder lets the next candidate take over at once.
    if (auto lease = client_.Get<api::Lease>(opts_.ns, opts_.lease_name);
        lease.ok() && lease->spec.holder_identity == opts_.identity) {
      lease->spec.holder_identity.clear();
      (void)client_.Update(*lease);
    }
  }
}

}  // namespace cstor::client
