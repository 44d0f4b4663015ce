// The control plane end to end over real HTTPS: the embedded API server and the client
// (the controller runtime's tests are in controller_runtime_test). Nothing here is
// mocked; the server runs in this process on a loopback port with its SQLite store in a
// temporary directory.
#include "control_plane_fixture.h"

namespace cstor::cptest {
namespace {

TEST_F(ControlPlaneTest, CreateGetUpdateWithConflicts) {
  auto created = client_->Create(Replica("vol1-pool-a"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE(created->metadata.uid.empty());
  EXPECT_FALSE(created->metadata.creation_timestamp.empty());
  EXPECT_EQ(created->metadata.generation, 1);
  EXPECT_TRUE(client::IsAlreadyExists(client_->Create(Replica("vol1-pool-a")).status()));

  // A spec change bumps generation; a label change does not.
  api::CStorVolumeReplica r = *created;
  r.spec.capacity = "20Gi";
  auto updated = client_->Update(r);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->metadata.generation, 2);
  EXPECT_NE(updated->metadata.resource_version, created->metadata.resource_version);
  api::CStorVolumeReplica labelled = *updated;
  labelled.metadata.labels["tier"] = "gold";
  auto after_label = client_->Update(labelled);
  ASSERT_TRUE(after_label.ok());
  EXPECT_EQ(after_label->metadata.generation, 2);

  // The stale copy loses, and nothing changes.
  r.spec.capacity = "30Gi";
  Status stale = client_->Update(r).status();
  EXPECT_TRUE(client::IsConflict(stale)) << stale.ToString();
  auto now = client_->Get<api::CStorVolumeReplica>("openebs", "vol1-pool-a");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->spec.capacity, "20Gi");
  EXPECT_EQ(now->metadata.resource_version, after_label->metadata.resource_version);

  // Writing the same object again changes nothing, not even the resourceVersion.
  auto noop = client_->Update(*now);
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->metadata.resource_version, now->metadata.resource_version);

  // generateName.
  api::CStorVolumeReplica gen = Replica("");
  gen.metadata.generate_name = "vol2-";
  auto g = client_->Create(gen);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_THAT(g->metadata.name, ::testing::StartsWith("vol2-"));
  EXPECT_EQ(g->metadata.name.size(), 10u);
}

TEST_F(ControlPlaneTest, StatusSubresource) {
  api::CStorVolumeReplica r = Replica("vol1-pool-a");
  r.status.phase = "Healthy";  // ignored on create, as Kubernetes does with a status subresource
  auto created = client_->Create(r);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status.phase, "");

  api::CStorVolumeReplica s = *created;
  s.status.phase = "Healthy";
  s.status.capacity.used = "1Gi";
  s.spec.capacity = "99Gi";  // ignored by the status endpoint
  auto st = client_->UpdateStatus(s);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->status.phase, "Healthy");
  EXPECT_EQ(st->spec.capacity, "10Gi");
  EXPECT_EQ(st->metadata.generation, 1);

  api::CStorVolumeReplica main = *st;
  main.status.phase = "Offline";  // ignored by the main endpoint
  main.spec.capacity = "11Gi";
  auto m = client_->Update(main);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status.phase, "Healthy");
  EXPECT_EQ(m->spec.capacity, "11Gi");
}

TEST_F(ControlPlaneTest, MergeAndJsonPatches) {
  ASSERT_TRUE(client_->Create(Replica("vol1-pool-a")).ok());
  auto merged = client_->Patch<api::CStorVolumeReplica>(
      "openebs", "vol1-pool-a", client::PatchType::kMerge,
      {{"metadata", {{"labels", {{"tier", "gold"}}}}}, {"spec", {{"compression", "lz4"}}}});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->metadata.labels.at("tier"), "gold");
  EXPECT_EQ(merged->spec.compression, "lz4");

  auto patched = client_->Patch<api::CStorVolumeReplica>(
      "openebs", "vol1-pool-a", client::PatchType::kJson,
      json::array({{{"op", "test"}, {"path", "/spec/compression"}, {"value", "lz4"}},
                   {{"op", "replace"}, {"path", "/spec/capacity"}, {"value", "12Gi"}}}));
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->spec.capacity, "12Gi");

  // A failing test operation applies nothing.
  Status failed = client_->Patch(api::CStorVolumeReplica::kType, "openebs", "vol1-pool-a",
                                 client::PatchType::kJson,
                                 json::array({{{"op", "replace"}, {"path", "/spec/capacity"}, {"value", "1Gi"}},
                                              {{"op", "test"}, {"path", "/spec/compression"}, {"value", "gzip"}}}))
                      .status();
  EXPECT_TRUE(failed.Is(Code::kInvalidArgument)) << failed.ToString();
  // A merge patch carrying an old resourceVersion is a compare-and-swap that loses.
  Status stale = client_->Patch(api::CStorVolumeReplica::kType, "openebs", "vol1-pool-a",
                                client::PatchType::kMerge,
                                {{"metadata", {{"resourceVersion", merged->metadata.resource_version}}},
                                 {"spec", {{"capacity", "1Gi"}}}})
                     .status();
  EXPECT_TRUE(client::IsConflict(stale)) << stale.ToString();
  EXPECT_EQ(client_->Get<api::CStorVolumeReplica>("openebs", "vol1-pool-a")->spec.capacity, "12Gi");

  // Status patches go to the subresource.
  auto st = client_->Patch<api::CStorVolumeReplica>("openebs", "vol1-pool-a", client::PatchType::kMerge,
                                                    {{"status", {{"phase", "Rebuilding"}}}}, true);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->status.phase, "Rebuilding");
}

TEST_F(ControlPlaneTest, SelectorsAndPages) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(client_->Create(Replica(fmt::format("vol{:02d}-x", i), i % 3 == 0 ? "pool-a" : "pool-b")).ok());
  }
  auto count = [&](const std::string& labels, const std::string& fields = "") {
    client::ListOptions o;
    o.label_selector = labels;
    o.field_selector = fields;
    auto l = client_->List<api::CStorVolumeReplica>("openebs", o);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? static_cast<int>(l->items.size()) : -1;
  };
  EXPECT_EQ(count(""), 25);
  EXPECT_EQ(count("cstorpoolinstance.openebs.io/name=pool-a"), 9);
  EXPECT_EQ(count("cstorpoolinstance.openebs.io/name!=pool-a"), 16);
  EXPECT_EQ(count("cstorpoolinstance.openebs.io/name in (pool-a, pool-b)"), 25);
  EXPECT_EQ(count("cstorpoolinstance.openebs.io/name notin (pool-a)"), 16);
  EXPECT_EQ(count("cstorpoolinstance.openebs.io/name"), 25);
  EXPECT_EQ(count("!cstorpoolinstance.openebs.io/name"), 0);
  EXPECT_EQ(count("", "metadata.name=vol07-x"), 1);
  EXPECT_EQ(count("cstorpoolinstance.openebs.io/name=pool-a", "metadata.name!=vol00-x"), 8);
  client::ListOptions bad;
  bad.label_selector = "a in b";
  EXPECT_TRUE(client_->List(api::CStorVolumeReplica::kType, "openebs", bad).status().Is(Code::kInvalidArgument));
  // As on a real server, a custom resource selects by field only on metadata.name and
  // metadata.namespace (and its CRD's selectableFields): code that selects on another
  // path would work here and fail on a cluster.
  bad.label_selector = "";
  bad.field_selector = "spec.capacity=10Gi";
  Status unsupported = client_->List(api::CStorVolumeReplica::kType, "openebs", bad).status();
  EXPECT_TRUE(unsupported.Is(Code::kInvalidArgument)) << unsupported.ToString();
  EXPECT_THAT(unsupported.ToString(), ::testing::HasSubstr("field label not supported: spec.capacity"));
  client::WatchOptions bad_watch;
  bad_watch.field_selector = "status.phase=Healthy";
  EXPECT_TRUE(client_->Watch(api::CStorVolumeReplica::kType, "openebs", bad_watch, [](client::WatchEvent&) { return false; })
                  .Is(Code::kInvalidArgument));
  EXPECT_EQ(count("", "metadata.namespace=openebs"), 25);
  // Built-in kinds serve their own: Events by involvedObject, not by message.
  client::ListOptions events;
  events.field_selector = "involvedObject.kind=CStorVolume,type=Warning";
  EXPECT_TRUE(client_->List(api::Event::kType, "openebs", events).ok());
  events.field_selector = "message=x";
  EXPECT_TRUE(client_->List(api::Event::kType, "openebs", events).status().Is(Code::kInvalidArgument));

  // Pages of 10: 10, 10, 5, with a continue token and the count of what remains.
  client::ListOptions o;
  o.limit = 10;
  std::vector<std::string> names;
  int pages = 0;
  do {
    auto page = client_->List(api::CStorVolumeReplica::kType, "openebs", o);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ++pages;
    for (const json& item : (*page)["items"]) names.push_back(item["metadata"]["name"]);
    o.continue_token = (*page)["metadata"].value("continue", "");
    if (!o.continue_token.empty()) {
      EXPECT_EQ((*page)["metadata"]["remainingItemCount"], 25 - static_cast<int>(names.size()));
    }
  } while (!o.continue_token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 25u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST_F(ControlPlaneTest, FinalizersHoldDeletion) {
  api::CStorVolumeReplica r = Replica("vol1-pool-a");
  r.metadata.finalizers = {std::string(api::kFinalizerVolumeReplica)};
  ASSERT_TRUE(client_->Create(r).ok());
  ASSERT_TRUE(client_->Delete<api::CStorVolumeReplica>("openebs", "vol1-pool-a").ok());
  auto held = client_->Get<api::CStorVolumeReplica>("openebs", "vol1-pool-a");
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held->metadata.deletion_timestamp.has_value());
  // No new finalizers once deletion started.
  api::CStorVolumeReplica more = *held;
  more.metadata.finalizers.push_back("example.com/another");
  EXPECT_TRUE(client_->Update(more).status().Is(Code::kInvalidArgument));
  // Releasing the last finalizer removes the object.
  api::CStorVolumeReplica release = *held;
  release.metadata.finalizers.clear();
  ASSERT_TRUE(client_->Update(release).ok());
  EXPECT_TRUE(client::IsNotFound(client_->Get<api::CStorVolumeReplica>("openebs", "vol1-pool-a").status()));
}

TEST_F(ControlPlaneTest, GarbageCollectionFollowsOwners) {
  auto owner_of = [&](const std::string& name) {
    auto cv = client_->Create(Volume(name));
    EXPECT_TRUE(cv.ok()) << cv.status().ToString();
    for (const char* pool : {"a", "b"}) {
      api::CStorVolumeReplica r = Replica(name + "-" + pool);
      r.metadata.owner_references.push_back(api::ControllerRef(*cv));
      EXPECT_TRUE(client_->Create(r).ok());
    }
    return *cv;
  };
  auto replicas_of = [&](const std::string& name) {
    int n = 0;
    for (const char* pool : {"a", "b"}) n += client_->Get<api::CStorVolumeReplica>("openebs", name + "-" + pool).ok();
    return n;
  };

  // Background: the owner goes at once, its dependents follow.
  owner_of("bg");
  ASSERT_TRUE(client_->Delete<api::CStorVolume>("openebs", "bg").ok());
  EXPECT_TRUE(Eventually([&] { return replicas_of("bg") == 0; }));

  // Orphan: the dependents stay, without the owner reference.
  owner_of("orphan");
  ASSERT_TRUE(client_->Delete<api::CStorVolume>("openebs", "orphan", Propagation("Orphan")).ok());
  EXPECT_TRUE(Eventually([&] { return client::IsNotFound(client_->Get<api::CStorVolume>("openebs", "orphan").status()); }));
  EXPECT_EQ(replicas_of("orphan"), 2);
  EXPECT_TRUE(client_->Get<api::CStorVolumeReplica>("openebs", "orphan-a")->metadata.owner_references.empty());

  // Foreground: the owner stays, marked for deletion, until its dependents are gone; a
  // finalizer on one dependent holds the owner too.
  owner_of("fg");
  ASSERT_TRUE(client_->Patch(api::CStorVolumeReplica::kType, "openebs", "fg-a", client::PatchType::kMerge,
                             {{"metadata", {{"finalizers", {"example.com/hold"}}}}}).ok());
  ASSERT_TRUE(client_->Delete<api::CStorVolume>("openebs", "fg", Propagation("Foreground")).ok());
  EXPECT_TRUE(Eventually([&] { return replicas_of("fg") == 1; }));
  auto owner = client_->Get<api::CStorVolume>("openebs", "fg");
  ASSERT_TRUE(owner.ok());
  EXPECT_TRUE(owner->metadata.deletion_timestamp.has_value());
  EXPECT_TRUE(api::HasFinalizer(owner->metadata, "foregroundDeletion"));
  ASSERT_TRUE(client_->Patch(api::CStorVolumeReplica::kType, "openebs", "fg-a", client::PatchType::kMerge,
                             {{"metadata", {{"finalizers", nullptr}}}}).ok());
  EXPECT_TRUE(Eventually([&] { return client::IsNotFound(client_->Get<api::CStorVolume>("openebs", "fg").status()); }));
  EXPECT_EQ(replicas_of("fg"), 0);
}

TEST_F(ControlPlaneTest, Namespaces) {
  api::CStorVolumeReplica r = Replica("vol1-pool-a");
  r.metadata.namespace_ = "nowhere";
  Status missing = client_->Create(r).status();
  EXPECT_TRUE(client::IsNotFound(missing)) << missing.ToString();

  ASSERT_TRUE(client_->Create(api::Namespace::kType, "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "scratch"}}}}).ok());
  r.metadata.namespace_ = "scratch";
  ASSERT_TRUE(client_->Create(r).ok());
  ASSERT_TRUE(client_->Delete(api::Namespace::kType, "", "scratch").ok());
  EXPECT_TRUE(Eventually([&] { return client::IsNotFound(client_->Get(api::Namespace::kType, "", "scratch").status()); }));
  EXPECT_TRUE(client::IsNotFound(client_->Get<api::CStorVolumeReplica>("scratch", "vol1-pool-a").status()));
}

TEST_F(ControlPlaneTest, WatchSeesChangesAndBookmarks) {
  auto start = client_->List(api::CStorVolumeReplica::kType, "openebs");
  ASSERT_TRUE(start.ok());
  std::vector<std::string> seen;
  int bookmarks = 0;
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(client_->Create(Replica("w1", "pool-a")).ok());
    ASSERT_TRUE(client_->Create(Replica("w2", "pool-b")).ok());  // filtered out by the selector
    ASSERT_TRUE(client_->Patch(api::CStorVolumeReplica::kType, "openebs", "w1", client::PatchType::kMerge, {{"spec", {{"capacity", "1Gi"}}}}).ok());
    // Leaving the selector reads as a deletion to this watch.
    ASSERT_TRUE(client_->Patch(api::CStorVolumeReplica::kType, "openebs", "w1", client::PatchType::kMerge,
                               {{"metadata", {{"labels", {{"cstorpoolinstance.openebs.io/name", "pool-c"}}}}}}).ok());
    ASSERT_TRUE(client_->Delete(api::CStorVolumeReplica::kType, "openebs", "w2").ok());
  });
  client::WatchOptions wo;
  wo.resource_version = (*start)["metadata"]["resourceVersion"];
  wo.label_selector = "cstorpoolinstance.openebs.io/name=pool-a";
  Status s = client_->Watch(api::CStorVolumeReplica::kType, "openebs", wo, [&](client::WatchEvent& ev) {
    if (ev.type == "BOOKMARK") {
      ++bookmarks;
    } else {
      seen.push_back(ev.type + " " + ev.object["metadata"].value("name", ""));
    }
    return seen.size() < 3 || bookmarks < 1;
  });
  writer.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_THAT(seen, ::testing::ElementsAre("ADDED w1", "MODIFIED w1", "DELETED w1"));
  EXPECT_GE(bookmarks, 1);
}

TEST_F(ControlPlaneTest, WatchFromCompactedVersionIsGone) {
  server_.reset();
  StartServer(0, /*history=*/10);
  client_ = std::make_unique<Client>(*client::LoadKubeconfig(server_->kubeconfig_path()));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(client_->Create(Replica(fmt::format("r{}", i))).ok());
  client::WatchOptions wo;
  wo.resource_version = "2";
  Status s = client_->Watch(api::CStorVolumeReplica::kType, "openebs", wo, [](client::WatchEvent&) { return true; });
  EXPECT_TRUE(client::IsGone(s)) << s.ToString();
}

TEST_F(ControlPlaneTest, InformerResumesAcrossServerRestart) {
  ASSERT_TRUE(client_->Create(Replica("before")).ok());
  client::InformerOptions io;
  io.ns = "openebs";
  client::Informer informer(*client_, api::CStorVolumeReplica::kType, io);
  std::atomic<int> deletes{0};
  informer.AddHandlers({nullptr, nullptr, [&](const json&) { ++deletes; }});
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  ASSERT_TRUE(informer.Get("openebs", "before").has_value());
  auto before = client_->Get<api::CStorVolumeReplica>("openebs", "before");
  ASSERT_TRUE(before.ok());

  // Stop the server under the informer's open watch, and bring it back on the same port.
  const int port = server_->port();
  server_.reset();
  StartServer(port);

  // Every object survived with its resourceVersion.
  auto after = client_->Get<api::CStorVolumeReplica>("openebs", "before");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->metadata.resource_version, before->metadata.resource_version);
  EXPECT_EQ(after->metadata.uid, before->metadata.uid);

  // Changes after the restart reach the informer through its resumed watch.
  ASSERT_TRUE(client_->Create(Replica("after")).ok());
  ASSERT_TRUE(client_->Delete<api::CStorVolumeReplica>("openebs", "before").ok());
  EXPECT_TRUE(Eventually([&] {
    return informer.Get("openebs", "after").has_value() && !informer.Get("openebs", "before").has_value();
  }));
  EXPECT_EQ(deletes, 1);
  // It resumed from its resourceVersion (the server kept the history): no second list.
  EXPECT_EQ(informer.lists(), 1);
  EXPECT_GE(informer.watches(), 2);
  informer.Stop();
}

// Regression test (issue 11): a list read in pages, with an object on a page already read
// changed before the last page. The server serves each page from its state at the time,
// so the joined list must carry a resourceVersion from which a watch replays that change.
// Before the fix it carried the last page's, and the change was never delivered (a
// controller then wrote with a stale resourceVersion and got 409 for ever).
TEST_F(ControlPlaneTest, AListReadInPagesMissesNoChangeMadeBetweenPages) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client_->Create(Replica(fmt::format("r{}", i))).ok());
  client::ListOptions lo;
  lo.limit = 2;
  int pages = 0;
  std::string changed_rv;
  lo.on_page = [&](const json&) {
    if (++pages != 1) return;
    auto r = client_->Patch(api::CStorVolumeReplica::kType, "openebs", "r0", client::PatchType::kMerge,
                            {{"spec", {{"capacity", "20Gi"}}}});
    ASSERT_TRUE(r.ok());
    changed_rv = (*r)["metadata"]["resourceVersion"];
  };
  auto all = client_->ListAll(api::CStorVolumeReplica::kType, "openebs", lo);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(pages, 3);
  ASSERT_EQ((*all)["items"].size(), 5u);
  EXPECT_EQ((*all)["items"][0]["spec"]["capacity"], "10Gi");  // read before the change

  client::WatchOptions wo;
  wo.resource_version = (*all)["metadata"]["resourceVersion"];
  wo.timeout_seconds = 2;
  std::string seen_rv;
  Status s = client_->Watch(api::CStorVolumeReplica::kType, "openebs", wo, [&](client::WatchEvent& ev) {
    if (ev.type == "MODIFIED" && ev.object["metadata"]["name"] == "r0") {
      seen_rv = ev.object["metadata"]["resourceVersion"];
      return false;
    }
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen_rv, changed_rv) << "the change to r0 between pages was not replayed";
}

// Regression test (issue 11): resync re-delivers the cache every period, counted on the
// informer's clock from Start. Before the fix the period restarted with every watch and
// was checked only when an event arrived, so with a quiet resource it never fired.
TEST_F(ControlPlaneTest, InformerResyncsOnItsClockWithoutEvents) {
  ASSERT_TRUE(client_->Create(Replica("a")).ok());
  ASSERT_TRUE(client_->Create(Replica("b")).ok());
  FakeClock clock;
  client::InformerOptions io;
  io.ns = "openebs";
  io.resync = 10min;
  client::Informer informer(*client_, api::CStorVolumeReplica::kType, io, clock);
  std::atomic<int> same{0}, changed{0};
  informer.AddHandlers({nullptr, [&](const json& o, const json& n) { (o == n ? same : changed)++; }, nullptr});
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  clock.Advance(9min);
  std::this_thread::sleep_for(100ms);  // can only hide an early resync, never invent one
  EXPECT_EQ(informer.resyncs(), 0);
  clock.Advance(1min);
  EXPECT_TRUE(Eventually([&] { return informer.resyncs() == 1; }));
  EXPECT_EQ(same, 2);  // each cached object once
  clock.Advance(10min);
  EXPECT_TRUE(Eventually([&] { return informer.resyncs() == 2; }));
  EXPECT_EQ(same, 4);
  EXPECT_EQ(changed, 0);
  informer.Stop();
}

// Issue 11: kubeconfigs with client certificates (kubeadm, kind, minikube) were refused.
// The server's kubeconfig has a certificate user; a certificate the server did not sign
// fails, and a client with neither token nor certificate gets 401.
TEST_F(ControlPlaneTest, ClientCertificatesAuthenticate) {
  auto cfg = client::LoadKubeconfig(server_->kubeconfig_path(), "cstor-cert");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(cfg->token.empty());
  ASSERT_FALSE(cfg->client_cert_pem.empty());
  Client with_cert(*cfg);
  auto ns = with_cert.Get(api::Namespace::kType, "", "openebs");
  EXPECT_TRUE(ns.ok()) << ns.status().ToString();

  auto other_ca = apiserver::GenerateCa("intruder-ca");
  ASSERT_TRUE(other_ca.ok());
  auto forged = apiserver::IssueClientCertificate(*other_ca, "cstor-admin", "system:masters");
  ASSERT_TRUE(forged.ok());
  client::Config bad = *cfg;
  bad.client_cert_pem = forged->cert_pem;
  bad.client_key_pem = forged->key_pem;
  // The handshake fails: no response at all, so no HTTP status.
  EXPECT_TRUE(Client(bad, {.attempts = 1}).Get(api::Namespace::kType, "", "openebs").status().Is(Code::kUnavailable));

  client::Config none = *cfg;
  none.client_cert_pem.clear();
  none.client_key_pem.clear();
  EXPECT_TRUE(Client(none).Get(api::Namespace::kType, "", "openebs").status().Is(Code::kFailedPrecondition));

  // A key that is not the certificate's is refused before any request.
  client::Config mismatched = *cfg;
  mismatched.client_key_pem = forged->key_pem;
  EXPECT_TRUE(Client(mismatched).Get(api::Namespace::kType, "", "openebs").status().Is(Code::kInvalidArgument));
}

// Regression test (issue 11): a service-account token was read once, but projected tokens
// rotate under a running process. A kubeconfig whose tokenFile (relative to the
// kubeconfig, as kubectl reads it) holds a stale token gets 401; once the file holds the
// current one, the next request succeeds (the client reads the file again on a 401).
TEST_F(ControlPlaneTest, ARotatedTokenFileIsReadAgain) {
  auto write = [](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir_ / "token", "expired-token-0123456789\n");
  const std::string kubeconfig = (dir_ / "rotating.kubeconfig").string();
  write(kubeconfig, fmt::format(R"(apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {}
    certificate-authority-data: {}
users:
- name: u
  user:
    tokenFile: token
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
)", server_->url(), apiserver::Base64Encode(server_->ca_pem())));
  auto cfg = client::LoadKubeconfig(kubeconfig);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->token_file, (dir_ / "token").string());
  Client c(*cfg);
  EXPECT_TRUE(c.Get(api::Namespace::kType, "", "openebs").status().Is(Code::kFailedPrecondition));
  write(dir_ / "token", server_->token() + "\n");  // rotated
  auto ns = c.Get(api::Namespace::kType, "", "openebs");
  EXPECT_TRUE(ns.ok()) << ns.status().ToString();
}

TEST_F(ControlPlaneTest, BadInputGetsStatusErrorsAndChangesNothing) {
  auto created = client_->Create(Replica("vol1"));
  ASSERT_TRUE(created.ok());
  const std::string path = Client::Path(api::CStorVolumeReplica::kType, "openebs");
  json good = json(Replica("vol2"));
  auto with = [&](std::function<void(json&)> edit) {
    json j = good;
    edit(j);
    return j.dump();
  };
  json stale = json(*created);
  stale["metadata"]["resourceVersion"] = "1";
  stale["spec"]["capacity"] = "99Gi";

  struct Case {
    std::string what, method, path, body, content_type;
    bool token;
    int code;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", "POST", path, "{\"apiVersion\": ", "application/json", true, 400, "BadRequest"},
      {"wrong kind", "POST", path, with([](json& j) { j["kind"] = "CStorVolume"; }), "application/json", true, 400, "BadRequest"},
      {"invalid name", "POST", path, with([](json& j) { j["metadata"]["name"] = "Bad_Name"; }), "application/json", true, 422, "Invalid"},
      {"schema type", "POST", path, with([](json& j) { j["spec"]["blockSize"] = "big"; }), "application/json", true, 422, "Invalid"},
      {"schema required", "POST", path, with([](json& j) { j.erase("spec"); }), "application/json", true, 422, "Invalid"},
      {"unknown field, strict", "POST", path + "?fieldValidation=Strict", with([](json& j) { j["spec"]["bogus"] = 1; }), "application/json", true, 400, "BadRequest"},
      {"stale resourceVersion", "PUT", path + "/vol1", stale.dump(), "application/json", true, 409, "Conflict"},
      {"unknown patch type", "PATCH", path + "/vol1", "{}", "text/plain", true, 415, "UnsupportedMediaType"},
      {"patch breaks schema", "PATCH", path + "/vol1", R"({"spec":{"blockSize":"big"}})", "application/merge-patch+json", true, 422, "Invalid"},
      {"no token", "GET", path, "", "", false, 401, "Unauthorized"},
      {"no such resource", "GET", "/apis/cstor.openebs.io/v1/namespaces/openebs/widgets", "", "", true, 404, "NotFound"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto raw = Raw(c.token);
    httplib::Result r = c.method == "POST"    ? raw->Post(c.path, c.body, c.content_type)
                        : c.method == "PUT"   ? raw->Put(c.path, c.body, c.content_type)
                        : c.method == "PATCH" ? raw->Patch(c.path, c.body, c.content_type)
                                              : raw->Get(c.path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.code) << r->body;
    json status = json::parse(r->body, nullptr, false);
    EXPECT_EQ(status.value("kind", ""), "Status") << r->body;
    EXPECT_EQ(status.value("code", 0), c.code);
    EXPECT_EQ(status.value("reason", ""), c.reason) << r->body;
    EXPECT_FALSE(status.value("message", "").empty());
  }
  // A schema error names the field.
  auto raw = Raw();
  auto r = raw->Post(path, with([](json& j) { j["spec"]["blockSize"] = "big"; }), "application/json");
  ASSERT_TRUE(r);
  json status = json::parse(r->body);
  EXPECT_EQ(status["details"]["causes"][0]["field"], "spec.blockSize");
  EXPECT_THAT(status.value("message", ""), ::testing::HasSubstr("spec.blockSize"));
  // A wrong token is refused like a missing one.
  auto wrong = Raw(false);
  wrong->set_bearer_token_auth("not-the-token");
  auto unauth = wrong->Get(path);
  ASSERT_TRUE(unauth);
  EXPECT_EQ(unauth->status, 401);

  // Nothing stored changed.
  auto list = client_->List<api::CStorVolumeReplica>("openebs");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].metadata.resource_version, created->metadata.resource_version);
  EXPECT_EQ(list->items[0].spec.capacity, "10Gi");
}

TEST_F(ControlPlaneTest, CustomResourceDefinitionsRegisterAtRunTime) {
  const api::ResourceType widgets{"example.com", "v1", "Widget", "widgets", true};
  EXPECT_TRUE(client::IsNotFound(client_->List(widgets, "openebs").status()));
  json crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"}, {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets.example.com"}}},
      {"spec", {{"group", "example.com"}, {"scope", "Namespaced"},
                {"names", {{"kind", "Widget"}, {"plural", "widgets"}, {"singular", "widget"}, {"listKind", "WidgetList"}}},
                {"versions", {{{"name", "v1"}, {"served", true}, {"storage", true},
                               {"selectableFields", {{{"jsonPath", ".spec.color"}}}},
                               {"schema", {{"openAPIV3Schema", {{"type", "object"}, {"properties", {
                                   {"spec", {{"type", "object"}, {"required", {"size"}}, {"properties", {
                                       {"size", {{"type", "integer"}, {"minimum", 1}}},
                                       {"color", {{"type", "string"}, {"enum", {"red", "blue"}}, {"default", "red"}}}}}}}}}}}}}}}}}}};
  ASSERT_TRUE(client_->Create(api::CustomResourceDefinition::kType, "", crd).ok());
  auto established = client_->Get<api::CustomResourceDefinition>("", "widgets.example.com");
  ASSERT_TRUE(established.ok());
  const api::Condition* c = api::FindCondition(established->status.conditions, "Established");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "True");

  json w = {{"apiVersion", "example.com/v1"}, {"kind", "Widget"}, {"metadata", {{"name", "w1"}}}, {"spec", {{"size", 3}, {"extra", 1}}}};
  auto made = client_->Create(widgets, "openebs", w);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ((*made)["spec"]["color"], "red");        // defaulted
  EXPECT_FALSE((*made)["spec"].contains("extra"));   // pruned
  w["metadata"]["name"] = "w2";
  w["spec"]["size"] = 0;
  EXPECT_TRUE(client_->Create(widgets, "openebs", w).status().Is(Code::kInvalidArgument));
  // The CRD's selectableFields may be selected on; other paths may not.
  client::ListOptions by_color;
  by_color.field_selector = "spec.color=red";
  auto red = client_->List(widgets, "openebs", by_color);
  ASSERT_TRUE(red.ok()) << red.status().ToString();
  EXPECT_EQ((*red)["items"].size(), 1u);
  by_color.field_selector = "spec.size=3";
  EXPECT_TRUE(client_->List(widgets, "openebs", by_color).status().Is(Code::kInvalidArgument));

  // Deleting the definition stops serving the resource, and its objects go with it.
  ASSERT_TRUE(client_->Delete(api::CustomResourceDefinition::kType, "", "widgets.example.com").ok());
  EXPECT_TRUE(client::IsNotFound(client_->List(widgets, "openebs").status()));
}

}  // namespace
}  // namespace cstor::cptest
