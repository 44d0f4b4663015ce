// The controller runtime against the embedded API server over real HTTPS: leader
// election, the event recorder, controllers sharing informers, expectations, and the
// volume Ready controller. The API server's own behaviour is in control_plane_test.
#include "control_plane_fixture.h"

namespace cstor::cptest {
namespace {

TEST_F(ControlPlaneTest, LeaderElectionHasOneLeaderAndHandsOver) {
  // Real time, with room for a slow machine (a sanitizer build beside other tests):
  // each request may take 500 ms.
  auto options = [](const std::string& id) { return LeaseOptions(id, 3s, 2s, 200ms); };
  client::LeaderElector a(*client_, options("a"));
  client::LeaderElector b(*client_, options("b"));
  std::atomic<int> a_started{0}, b_started{0};
  a.Start([&] { ++a_started; }, nullptr);
  ASSERT_TRUE(Eventually([&] { return a.IsLeader(); }));
  b.Start([&] { ++b_started; }, nullptr);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(a.IsLeader());
  EXPECT_FALSE(b.IsLeader());
  a.Stop();
  EXPECT_TRUE(Eventually([&] { return b.IsLeader(); }));
  EXPECT_EQ(a_started, 1);
  // The callback runs on b's thread after it won (IsLeader may turn true just before).
  EXPECT_TRUE(Eventually([&] { return b_started == 1; }));
  auto lease = client_->Get<api::Lease>("openebs", "cstor-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->spec.holder_identity, "b");
  EXPECT_EQ(lease->spec.lease_transitions, 1);
}

// Regression test (issue 11): two candidates, each on its own clock; a's wall clock is an
// hour behind b's. Neither may ever act while the other does:
//   - while a renews, b never takes the lease (before the fix b compared a's renewTime
//     with its own wall clock, found it an hour old, and took the lease at once);
//   - a is then paused (its clock stands still: its thread does nothing), b takes the lease
//     after seeing it unchanged for the lease duration; when a resumes, its clock jumps
//     and IsLeader() is false before a's thread has run at all (before the fix a kept
//     acting until a renewal failed, which with retries could take minutes).
TEST_F(ControlPlaneTest, LeaderElectionNeverHasTwoLeadersWithSkewedClocksOrAPausedLeader) {
  const auto wall = std::chrono::system_clock::now();
  FakeClock clock_a(wall - 1h), clock_b(wall);
  auto options = [](const std::string& id) { return LeaseOptions(id, 15s, 10s, 2s); };
  client::LeaderElector a(*client_, options("a"), clock_a);
  client::LeaderElector b(*client_, options("b"), clock_b);
  std::atomic<int> a_started{0}, a_stopped{0}, b_started{0};
  auto settle = [](FakeClock& c) { ASSERT_TRUE(Eventually([&] { return c.Idle(1); })) << "a candidate is stuck"; };
  a.Start([&] { ++a_started; }, [&] { ++a_stopped; });
  settle(clock_a);
  ASSERT_TRUE(a.IsLeader());
  b.Start([&] { ++b_started; }, nullptr);
  settle(clock_b);

  // Both clocks run; a renews every 2 s.
  for (int s = 0; s < 40; ++s) {
    clock_a.Advance(1s);
    settle(clock_a);
    clock_b.Advance(1s);
    settle(clock_b);
    ASSERT_TRUE(a.IsLeader()) << "at " << s << " s";
    ASSERT_FALSE(b.IsLeader()) << "b took a live leader's lease at " << s << " s";
  }

  // a is paused: only b's clock runs.
  int waited = 0;
  for (; waited < 30 && !b.IsLeader(); ++waited) {
    clock_b.Advance(1s);
    settle(clock_b);
  }
  ASSERT_TRUE(b.IsLeader()) << "b never took the lease of a paused leader";
  EXPECT_GE(waited, 15);  // not before a full lease duration without a renewal
  EXPECT_TRUE(Eventually([&] { return b_started == 1; }));
  // a resumes: its clock has moved by the pause; it must not act any more, even before
  // its thread notices.
  clock_a.Advance(std::chrono::seconds(waited));
  EXPECT_FALSE(a.IsLeader()) << "a and b both lead";
  settle(clock_a);
  EXPECT_FALSE(a.IsLeader());
  EXPECT_TRUE(Eventually([&] { return a_stopped == 1; }));
  EXPECT_EQ(a_started, 1);
  auto lease = client_->Get<api::Lease>("openebs", "cstor-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->spec.holder_identity, "b");
  EXPECT_EQ(lease->spec.lease_transitions, 1);
}

// Events (issue 11): repeats of one event become one Event with a count, and past ten
// distinct messages for one object and reason the rest are combined into one Event.
TEST_F(ControlPlaneTest, EventsAreCountedAndSimilarOnesCombined) {
  auto cv = client_->Create(Volume("pvc-1"));
  ASSERT_TRUE(cv.ok());
  client::EventRecorder events(*client_, client::EventRecorderOptions{.component = "test"});
  for (int i = 0; i < 20; ++i) events.Warning(json(*cv), "NoQuorum", "only 1 of 3 replicas are healthy");
  for (int i = 0; i < 15; ++i) events.Normal(json(*cv), "Progress", fmt::format("step {}", i));
  events.Flush();
  EXPECT_EQ(events.dropped(), 0);
  client::ListOptions lo;
  lo.field_selector = "involvedObject.name=pvc-1";
  auto list = client_->List<api::Event>("openebs", lo);
  ASSERT_TRUE(list.ok());
  int no_quorum = 0, progress = 0, progress_count = 0;
  std::string combined;
  for (const api::Event& e : list->items) {
    if (e.reason == "NoQuorum") {
      ++no_quorum;
      EXPECT_EQ(e.count, 20);
    } else if (e.reason == "Progress") {
      ++progress;
      progress_count += e.count;
      if (e.message.starts_with("(combined")) combined = e.message;
    }
  }
  EXPECT_EQ(no_quorum, 1);
  EXPECT_EQ(progress, 11);
  EXPECT_EQ(progress_count, 15);
  EXPECT_EQ(combined, "(combined from similar events): step 14");
}

// Regression test (issue 11): events were written inside Record, so a reconcile waited on
// the API server (up to a minute per attempt) for a message to people. Against a server
// that accepts connections and never answers, a thousand Records return at once, the
// queue stays bounded (the rest are counted as dropped), and the recorder shuts down
// within its drain bound.
TEST_F(ControlPlaneTest, EventsNeverBlockTheCallerWhenTheServerHangs) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 128), 0);  // connections complete in the backlog; nothing answers
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  client::Config hung = config_;
  hung.server = fmt::format("https://127.0.0.1:{}", ntohs(addr.sin_port));
  Client c(hung);
  auto events = std::make_unique<client::EventRecorder>(
      c, client::EventRecorderOptions{.component = "test", .queue_limit = 100,
                                      .request_timeout = 500ms, .drain_timeout = 1s});
  const json obj = {{"apiVersion", "cstor.openebs.io/v1"}, {"kind", "CStorVolume"},
                    {"metadata", {{"name", "pvc-1"}, {"namespace", "openebs"}, {"uid", "u1"}}}};
  auto recording = std::async(std::launch::async, [&] {
    for (int i = 0; i < 1000; ++i) events->Warning(obj, "Slow", fmt::format("message {}", i));
  });
  // The bound only catches a hang: 1000 blocking writes would take 1000 x 500 ms.
  ASSERT_EQ(recording.wait_for(60s), std::future_status::ready) << "Record blocked on the API server";
  EXPECT_GE(events->dropped(), 1000 - 100 - 1);
  auto stopping = std::async(std::launch::async, [&] { events.reset(); });
  EXPECT_EQ(stopping.wait_for(60s), std::future_status::ready) << "shutdown waited on every queued event";
  stopping.wait();
  close(fd);
}

// Issue 11: controllers in one process share informers (one watch per kind), find what
// an object owns through the owner index, and are requeued when an object they own
// changes. A handler added late sees the cache first; a stopped controller's handlers
// are gone while the others go on.
TEST_F(ControlPlaneTest, ControllersShareInformersAndAreRequeuedByWhatTheyOwn) {
  struct Recorder : client::Reconciler {
    std::mutex mu;
    std::vector<std::string> keys;
    Result<client::ReconcileResult> Reconcile(const std::string& ns, const std::string& name) override {
      std::lock_guard<std::mutex> lock(mu);
      keys.push_back(ns + "/" + name);
      return client::ReconcileResult{};
    }
    int Count(const std::string& key) {
      std::lock_guard<std::mutex> lock(mu);
      return static_cast<int>(std::count(keys.begin(), keys.end(), key));
    }
  };
  client::InformerFactory informers(*client_, {.ns = "openebs"});
  Recorder owner_side, other;
  client::Controller volumes(informers, api::CStorVolume::kType, owner_side, {.name = "volumes"});
  volumes.Owns(api::CStorVolumeReplica::kType);
  client::Controller second(informers, api::CStorVolume::kType, other, {.name = "second"});
  second.Watch(api::CStorVolumeReplica::kType, [](const json&) { return std::vector<std::string>{}; });
  EXPECT_EQ(informers.size(), 2u);  // CStorVolume and CStorVolumeReplica, once each
  ASSERT_TRUE(volumes.Start().ok());
  ASSERT_TRUE(second.Start().ok());

  auto cv = client_->Create(Volume("pvc-1"));
  ASSERT_TRUE(cv.ok());
  json replica = json(Replica("pvc-1-r1"));
  replica["metadata"]["ownerReferences"] = {{{"apiVersion", "cstor.openebs.io/v1"}, {"kind", "CStorVolume"},
                                             {"name", "pvc-1"}, {"uid", cv->metadata.uid}, {"controller", true}}};
  ASSERT_TRUE(client_->Create(api::CStorVolumeReplica::kType, "openebs", replica).ok());
  EXPECT_TRUE(Eventually([&] { return owner_side.Count("openebs/pvc-1") >= 1 && other.Count("openebs/pvc-1") >= 1; }));

  // The owner index finds the replica.
  const std::string owner = client::index::OwnerValue("CStorVolume", "openebs", "pvc-1");
  client::Informer& replicas = informers.For(api::CStorVolumeReplica::kType);
  EXPECT_TRUE(Eventually([&] { return replicas.ByIndex(std::string(client::index::kByOwner), owner).size() == 1; }));

  // A change to the replica requeues the volume that owns it.
  const int before = owner_side.Count("openebs/pvc-1");
  ASSERT_TRUE(client_->Patch(api::CStorVolumeReplica::kType, "openebs", "pvc-1-r1", client::PatchType::kMerge,
                             {{"spec", {{"capacity", "20Gi"}}}}).ok());
  EXPECT_TRUE(Eventually([&] { return owner_side.Count("openebs/pvc-1") > before; }));

  // One list and one watch per kind for both controllers.
  EXPECT_EQ(informers.For(api::CStorVolume::kType).lists(), 1);
  EXPECT_EQ(replicas.lists(), 1);

  // A handler added now is told about what is cached.
  int adds = 0;
  const int id = informers.For(api::CStorVolume::kType).AddHandlers({[&](const json&) { ++adds; }, nullptr, nullptr});
  EXPECT_EQ(adds, 1);
  informers.For(api::CStorVolume::kType).RemoveHandlers(id);

  // Stopping one controller leaves the other working on the same informers.
  volumes.Stop();
  const int seen = other.Count("openebs/pvc-1");
  ASSERT_TRUE(client_->Patch(api::CStorVolume::kType, "openebs", "pvc-1", client::PatchType::kMerge,
                             {{"spec", {{"capacity", "20Gi"}}}}).ok());
  EXPECT_TRUE(Eventually([&] { return other.Count("openebs/pvc-1") > seen; }));

  ASSERT_TRUE(client_->Delete(api::CStorVolumeReplica::kType, "openebs", "pvc-1-r1").ok());
  EXPECT_TRUE(Eventually([&] { return replicas.ByIndex(std::string(client::index::kByOwner), owner).empty(); }));
  second.Stop();
}

TEST_F(ControlPlaneTest, ExpectationsKeepAReconcileFromCreatingTwiceBeforeItsCacheCatchesUp) {
  // One replica per volume, named by the server (generateName). The reconcile requeues
  // itself at once after creating, long before the watch can bring the new replica into
  // the cache: only the expectation stops a second create.
  struct OneReplica : client::Reconciler {
    client::Controller* controller = nullptr;
    client::Client* api = nullptr;
    client::Informer* replicas = nullptr;
    client::Informer* volumes_cache = nullptr;
    std::atomic<int> runs{0}, creates{0};
    Result<client::ReconcileResult> Reconcile(const std::string& ns, const std::string& name) override {
      const std::string key = ns + "/" + name;
      if (++runs < 60) controller->queue().Add(key);
      if (!controller->expectations().Satisfied(key)) return client::ReconcileResult{};
      const std::string owner = client::index::OwnerValue("CStorVolume", ns, name);
      if (!replicas->ByIndex(std::string(client::index::kByOwner), owner).empty()) return client::ReconcileResult{};
      auto cv = volumes_cache->Get(ns, name);
      if (!cv) return client::ReconcileResult{};
      controller->expectations().ExpectCreations(key, 1);
      json r = json(Replica(""));
      r["metadata"].erase("name");
      r["metadata"]["generateName"] = name + "-";
      r["metadata"]["ownerReferences"] = {{{"apiVersion", "cstor.openebs.io/v1"}, {"kind", "CStorVolume"},
                                           {"name", name}, {"uid", (*cv)["metadata"]["uid"]}, {"controller", true}}};
      auto created = api->Create(api::CStorVolumeReplica::kType, ns, r);
      if (!created.ok()) {
        controller->expectations().CreationObserved(key);  // it will never be seen
        return created.status();
      }
      ++creates;
      return client::ReconcileResult{};
    }
  };
  client::InformerFactory informers(*client_, {.ns = "openebs"});
  OneReplica reconciler;
  client::Controller volumes(informers, api::CStorVolume::kType, reconciler, {.name = "one-replica", .workers = 1});
  volumes.Owns(api::CStorVolumeReplica::kType);
  reconciler.controller = &volumes;
  reconciler.api = client_.get();
  reconciler.replicas = &informers.For(api::CStorVolumeReplica::kType);
  reconciler.volumes_cache = &informers.For(api::CStorVolume::kType);
  ASSERT_TRUE(volumes.Start().ok());
  ASSERT_TRUE(client_->Create(Volume("pvc-2")).ok());
  EXPECT_TRUE(Eventually([&] { return reconciler.runs >= 60; }));
  volumes.Stop();
  EXPECT_EQ(reconciler.creates.load(), 1);
  auto all = client_->List(api::CStorVolumeReplica::kType, "openebs");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)["items"].size(), 1u);
}

TEST_F(ControlPlaneTest, VolumeReadyControllerKeepsTheConditionCurrent) {
  client::EventRecorder events(*client_, "cstor-operator", "test");
  FakeClock clock;  // stands still: no report turns stale here
  client::InformerFactory informers(*client_, {.ns = "openebs", .clock = &clock});
  controllers::VolumeReadyController ready(informers, events);
  ASSERT_TRUE(ready.Start().ok());

  ASSERT_TRUE(client_->Create(Volume("pvc-1")).ok());
  auto ready_status = [&] { return ReadyStatus("pvc-1"); };
  EXPECT_TRUE(Eventually([&] { return ready_status() == "False/Initializing"; })) << ready_status();

  // The target reports a healthy quorum, then loses it.
  ASSERT_TRUE(client_->Patch(api::CStorVolume::kType, "openebs", "pvc-1", client::PatchType::kMerge,
                             {{"status", {{"phase", "Healthy"}}}}, true).ok());
  EXPECT_TRUE(Eventually([&] { return ready_status() == "True/QuorumHealthy"; })) << ready_status();
  ASSERT_TRUE(client_->Patch(api::CStorVolume::kType, "openebs", "pvc-1", client::PatchType::kMerge,
                             {{"status", {{"phase", "Offline"}, {"replicaStatuses", {{{"replicaId", "1"}, {"mode", "Healthy"}}}}}}}, true).ok());
  EXPECT_TRUE(Eventually([&] { return ready_status() == "False/NoQuorum"; })) << ready_status();

  // The condition says which spec it speaks of: a spec change (generation 2) is seen.
  auto observed = [&]() -> int64_t {
    auto cv = client_->Get<api::CStorVolume>("openebs", "pvc-1");
    const api::Condition* c = cv.ok() ? api::FindCondition(cv->status.conditions, api::cv_condition::kReady) : nullptr;
    return c && c->observed_generation ? *c->observed_generation : -1;
  };
  EXPECT_EQ(observed(), 1);
  ASSERT_TRUE(client_->Patch(api::CStorVolume::kType, "openebs", "pvc-1", client::PatchType::kMerge,
                             {{"spec", {{"capacity", "20Gi"}}}}).ok());
  EXPECT_TRUE(Eventually([&] { return observed() == 2; })) << observed();

  // Each transition is an Event on the volume.
  client::ListOptions lo;
  lo.field_selector = "involvedObject.name=pvc-1,involvedObject.kind=CStorVolume";
  std::vector<std::string> reasons;
  EXPECT_TRUE(Eventually([&] {
    auto list = client_->List<api::Event>("openebs", lo);
    reasons.clear();
    if (list.ok()) for (const auto& e : list->items) reasons.push_back(e.type + "/" + e.reason);
    return reasons.size() == 3;
  }));
  EXPECT_THAT(reasons, ::testing::UnorderedElementsAre("Warning/NotReady", "Normal/Ready", "Warning/NotReady"));

  // Level-triggered and idempotent: with nothing changing, nothing is written.
  auto settled = client_->Get<api::CStorVolume>("openebs", "pvc-1");
  ASSERT_TRUE(settled.ok());
  const int64_t before = ready.controller().reconciles();
  ready.controller().queue().Add("openebs/pvc-1");
  ASSERT_TRUE(Eventually([&] { return ready.controller().reconciles() > before; }));
  EXPECT_EQ(client_->Get<api::CStorVolume>("openebs", "pvc-1")->metadata.resource_version,
            settled->metadata.resource_version);
  ready.Stop();
}

// Regression test (issue 11): Ready followed the phase alone, so a volume whose target
// died kept Ready=True (cStor's stale "Healthy"). On the controller's fake clock: a
// report unchanged for 30 s makes it False (TargetNotReporting) with no event from the
// server; a new report makes it True again; staleness counts from the last change.
TEST_F(ControlPlaneTest, VolumeReadyTurnsFalseWhenTheTargetStopsReporting) {
  client::EventRecorder events(*client_, "cstor-operator", "test");
  FakeClock clock;
  client::InformerFactory informers(*client_, {.ns = "openebs", .clock = &clock});
  controllers::VolumeReadyController ready(informers, events, {.stale_after = 30s});
  ASSERT_TRUE(ready.Start().ok());
  auto ready_status = [&] { return ReadyStatus("pvc-1"); };
  // A report, and the controller has seen it (at the fake time now) before the clock moves.
  auto report = [&](const std::string& at) {
    ASSERT_TRUE(client_->Patch(api::CStorVolume::kType, "openebs", "pvc-1", client::PatchType::kMerge,
                               {{"status", {{"phase", "Healthy"}, {"lastUpdateTime", at}}}}, true).ok());
    ASSERT_TRUE(Eventually([&] { return ready.SeenReport("openebs/pvc-1") == at; }));
  };
  ASSERT_TRUE(client_->Create(Volume("pvc-1")).ok());
  ASSERT_NO_FATAL_FAILURE(report("2026-12-06T07:00:00Z"));
  EXPECT_TRUE(Eventually([&] { return ready_status() == "True/QuorumHealthy"; })) << ready_status();

  clock.Advance(29s);
  std::this_thread::sleep_for(100ms);  // can only hide an early verdict, never invent one
  EXPECT_EQ(ready_status(), "True/QuorumHealthy");
  clock.Advance(1s);
  EXPECT_TRUE(Eventually([&] { return ready_status() == "False/TargetNotReporting"; })) << ready_status();

  ASSERT_NO_FATAL_FAILURE(report("2026-12-06T07:00:40Z"));
  EXPECT_TRUE(Eventually([&] { return ready_status() == "True/QuorumHealthy"; })) << ready_status();
  clock.Advance(20s);
  ASSERT_NO_FATAL_FAILURE(report("2026-12-06T07:01:00Z"));
  clock.Advance(20s);  // 40 s since the first of these reports, 20 s since the last
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ready_status(), "True/QuorumHealthy");
  clock.Advance(10s);
  EXPECT_TRUE(Eventually([&] { return ready_status() == "False/TargetNotReporting"; })) << ready_status();
  ready.Stop();
}

}  // namespace
}  // namespace cstor::cptest
