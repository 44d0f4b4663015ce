// The Store: objects and history in SQLite, revisions, paging, snapshots at an older
// revision, watches' history, restarts.
#include "apiserver/store.h"
#include "base/mutex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace cstor::apiserver {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kVolumes = "cstor.openebs.io/cstorvolumes";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "store_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/store.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> OpenStore(size_t history_limit = 1000) {
    auto s = Store::Open(path_, history_limit);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static ObjectPtr Put(Store& store, const std::string& ns, const std::string& name,
                       json spec = json::object()) {
    json obj = {{"metadata", {{"name", name}, {"namespace", ns}}}, {"spec", std::move(spec)}};
    auto r = store.Mutate(kVolumes, ns, name, [&](const json*) {
      return Mutation{Mutation::kPut, obj};
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }

  static Result<ObjectPtr> Delete(Store& store, const std::string& ns, const std::string& name) {
    return store.Mutate(kVolumes, ns, name, [](const json*) { return Mutation{Mutation::kDelete, {}}; });
  }

  static std::vector<std::string> Names(const std::vector<ObjectPtr>& items) {
    std::vector<std::string> out;
    for (const auto& o : items) {
      out.push_back((*o)["metadata"].value("namespace", "") + "/" + (*o)["metadata"].value("name", ""));
    }
    return out;
  }

  static std::vector<uint64_t> Revisions(const std::vector<StoredEvent>& events) {
    std::vector<uint64_t> out;
    for (const auto& e : events) out.push_back(e.revision);
    return out;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StoreTest, PutThenGet) {
  auto store = OpenStore();
  EXPECT_EQ(store->Revision(), 0u);
  EXPECT_EQ(store->Get(kVolumes, "ns", "v1"), nullptr);
  ObjectPtr put = Put(*store, "ns", "v1", {{"size", "1Gi"}});
  ASSERT_NE(put, nullptr);
  EXPECT_EQ((*put)["metadata"]["resourceVersion"], "1");
  ObjectPtr got = store->Get(kVolumes, "ns", "v1");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, *put);
  EXPECT_EQ((*got)["spec"]["size"], "1Gi");
  EXPECT_EQ(store->Get(kVolumes, "other", "v1"), nullptr);
  EXPECT_EQ(store->Get("other/resource", "ns", "v1"), nullptr);
}

TEST_F(StoreTest, MutateKinds) {
  auto store = OpenStore();
  // kNone on an absent object: nothing happens, the result is a null object.
  auto none = store->Mutate(kVolumes, "ns", "v", [](const json* cur) {
    EXPECT_EQ(cur, nullptr);
    return Mutation{};
  });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  EXPECT_EQ(store->Revision(), 0u);

  Put(*store, "ns", "v", {{"n", 1}});
  // Mutate sees the current object; kNone returns it unchanged.
  none = store->Mutate(kVolumes, "ns", "v", [](const json* cur) {
    EXPECT_NE(cur, nullptr);
    if (cur != nullptr) {
      EXPECT_EQ((*cur)["spec"]["n"], 1);
    }
    return Mutation{};
  });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, store->Get(kVolumes, "ns", "v"));
  EXPECT_EQ(store->Revision(), 1u);

  // kPut replaces it, with a new resourceVersion.
  auto put = store->Mutate(kVolumes, "ns", "v", [](const json* cur) {
    json next = *cur;
    next["spec"]["n"] = 2;
    return Mutation{Mutation::kPut, next};
  });
  ASSERT_TRUE(put.ok());
  EXPECT_EQ((**put)["spec"]["n"], 2);
  EXPECT_EQ((**put)["metadata"]["resourceVersion"], "2");

  // kDelete returns the last state, carrying the deletion's revision.
  auto del = Delete(*store, "ns", "v");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ((**del)["spec"]["n"], 2);
  EXPECT_EQ((**del)["metadata"]["resourceVersion"], "3");
  EXPECT_EQ(store->Get(kVolumes, "ns", "v"), nullptr);

  // Deleting what is absent is NotFound and changes nothing.
  EXPECT_TRUE(Delete(*store, "ns", "v").status().Is(Code::kNotFound));
  EXPECT_EQ(store->Revision(), 3u);
}

TEST_F(StoreTest, RevisionsIncreaseByOnePerChange) {
  auto store = OpenStore();
  for (uint64_t i = 1; i <= 5; ++i) {
    ObjectPtr o = Put(*store, "ns", "v" + std::to_string(i % 2));
    EXPECT_EQ(store->Revision(), i);
    EXPECT_EQ((*o)["metadata"]["resourceVersion"], std::to_string(i));
  }
  ASSERT_TRUE(Delete(*store, "ns", "v0").ok());
  EXPECT_EQ(store->Revision(), 6u);
  // Revisions are one counter over every resource.
  auto r = store->Mutate("/pods", "ns", "p", [](const json*) {
    return Mutation{Mutation::kPut, json{{"metadata", {{"name", "p"}}}}};
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store->Revision(), 7u);
}

TEST_F(StoreTest, ExceptionInDecideChangesNothing) {
  auto store = OpenStore();
  Put(*store, "ns", "v");
  EXPECT_THROW((void)store->Mutate(kVolumes, "ns", "v",
                                   [](const json*) -> Mutation { throw std::runtime_error("no"); }),
               std::runtime_error);
  EXPECT_EQ(store->Revision(), 1u);
  EXPECT_NE(store->Get(kVolumes, "ns", "v"), nullptr);
  Put(*store, "ns", "w");  // the store still works
  EXPECT_EQ(store->Revision(), 2u);
}

TEST_F(StoreTest, ListOrdersByKey) {
  auto store = OpenStore();
  for (const auto& [ns, name] : std::vector<std::pair<std::string, std::string>>{
           {"b", "z"}, {"a", "y"}, {"b", "a"}, {"bb", "c"}, {"b-x", "d"}, {"a", "b"}}) {
    Put(*store, ns, name);
  }
  Store::Page all = store->List(kVolumes, "", "", 0, nullptr);
  EXPECT_EQ(all.revision, 6u);
  // By the bytes of "namespace/name", as etcd orders Kubernetes' keys: '-' sorts before '/'.
  EXPECT_THAT(Names(all.items), ElementsAre("a/b", "a/y", "b-x/d", "b/a", "b/z", "bb/c"));
  EXPECT_EQ(all.last_key, "");
  EXPECT_EQ(all.remaining, 0u);
  // One namespace: not its prefix-sharing neighbours.
  EXPECT_THAT(Names(store->List(kVolumes, "b", "", 0, nullptr).items), ElementsAre("b/a", "b/z"));
  EXPECT_THAT(store->List(kVolumes, "c", "", 0, nullptr).items, IsEmpty());
  EXPECT_THAT(store->List("other/things", "", "", 0, nullptr).items, IsEmpty());
}

TEST_F(StoreTest, ListPagesByKey) {
  auto store = OpenStore();
  for (int i = 0; i < 7; ++i) Put(*store, "ns", "v" + std::to_string(i));
  Put(*store, "zz", "other");
  std::vector<std::string> seen;
  std::vector<size_t> remaining;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    Store::Page p = store->List(kVolumes, "ns", after, 3, nullptr);
    for (const auto& n : Names(p.items)) seen.push_back(n);
    remaining.push_back(p.remaining);
    if (p.last_key.empty()) break;
    EXPECT_EQ(p.items.size(), 3u);
    after = p.last_key;
  }
  EXPECT_THAT(seen, ElementsAre("ns/v0", "ns/v1", "ns/v2", "ns/v3", "ns/v4", "ns/v5", "ns/v6"));
  EXPECT_THAT(remaining, ElementsAre(4u, 1u, 0u));
  // A page that ends exactly at the last item says there is no more.
  Store::Page exact = store->List(kVolumes, "ns", "ns/v3", 3, nullptr);
  EXPECT_THAT(Names(exact.items), ElementsAre("ns/v4", "ns/v5", "ns/v6"));
  EXPECT_EQ(exact.last_key, "");
  EXPECT_EQ(exact.remaining, 0u);
}

TEST_F(StoreTest, PagesOfOneListAreOneSnapshot) {
  auto store = OpenStore();
  for (int i = 0; i < 6; ++i) Put(*store, "ns", "v" + std::to_string(i), {{"n", 0}});
  Store::Page first = store->List(kVolumes, "ns", "", 2, nullptr);
  ASSERT_THAT(Names(first.items), ElementsAre("ns/v0", "ns/v1"));
  const uint64_t at = first.revision;
  // Between pages: a later object changes, one goes, one is added, one is added and
  // changed, and another resource and namespace change.
  Put(*store, "ns", "v3", {{"n", 1}});
  Put(*store, "ns", "v3", {{"n", 2}});
  ASSERT_TRUE(Delete(*store, "ns", "v4").ok());
  Put(*store, "ns", "v2a");
  Put(*store, "ns", "v9");
  Put(*store, "ns", "v9", {{"n", 5}});
  Put(*store, "other", "v5");
  ASSERT_TRUE(store->Mutate("/services", "ns", "s", [](const json*) { return Mutation{Mutation::kPut, {{"metadata", {{"name", "s"}}}}}; }).ok());
  std::vector<std::string> rest;
  std::vector<int> ns;
  std::string after = first.last_key;
  for (int pages = 0; pages < 10 && !after.empty(); ++pages) {
    bool too_old = true;
    Store::Page p = store->List(kVolumes, "ns", after, 2, nullptr, at, &too_old);
    EXPECT_FALSE(too_old);
    EXPECT_EQ(p.revision, at);
    for (const auto& o : p.items) ns.push_back((*o)["spec"].value("n", -1));
    for (const auto& n : Names(p.items)) rest.push_back(n);
    after = p.last_key;
  }
  EXPECT_THAT(rest, ElementsAre("ns/v2", "ns/v3", "ns/v4", "ns/v5"));
  EXPECT_THAT(ns, ElementsAre(0, 0, 0, 0));
  // Every object is as it was then, resourceVersion included (not the deletion's).
  Store::Page again = store->List(kVolumes, "ns", "", 0, nullptr, at, nullptr);
  for (const auto& o : again.items) {
    EXPECT_LE(std::stoull((*o)["metadata"].value("resourceVersion", "0")), at) << o->dump();
  }
  // The current state is unchanged by reading an old one.
  EXPECT_THAT(Names(store->List(kVolumes, "ns", "ns/v1", 0, nullptr).items),
              ElementsAre("ns/v2", "ns/v2a", "ns/v3", "ns/v5", "ns/v9"));
}

TEST_F(StoreTest, ASnapshotOlderThanTheHistoryIsTooOld) {
  auto store = OpenStore(/*history_limit=*/4);
  for (int i = 0; i < 3; ++i) Put(*store, "ns", "v" + std::to_string(i));
  const uint64_t at = store->Revision();
  for (int i = 0; i < 5; ++i) Put(*store, "ns", "v1", {{"n", i}});
  bool too_old = false;
  Store::Page p = store->List(kVolumes, "ns", "", 0, nullptr, at, &too_old);
  EXPECT_TRUE(too_old);
  EXPECT_THAT(p.items, IsEmpty());
  // After a restart the history has no "before" states: a modification cannot be undone.
  auto recent = store->Revision();
  Put(*store, "ns", "v2", {{"n", 7}});
  store.reset();
  store = OpenStore(4);
  store->List(kVolumes, "ns", "", 0, nullptr, recent, &too_old);
  EXPECT_TRUE(too_old);
}

TEST_F(StoreTest, ListFiltersBeforePaging) {
  auto store = OpenStore();
  for (int i = 0; i < 10; ++i) Put(*store, "ns", "v" + std::to_string(i), {{"even", i % 2 == 0}});
  auto even = [](const json& o) { return o["spec"]["even"].get<bool>(); };
  Store::Page p = store->List(kVolumes, "", "", 2, even);
  EXPECT_THAT(Names(p.items), ElementsAre("ns/v0", "ns/v2"));
  EXPECT_EQ(p.remaining, 3u);
  p = store->List(kVolumes, "", p.last_key, 0, even);
  EXPECT_THAT(Names(p.items), ElementsAre("ns/v4", "ns/v6", "ns/v8"));
}

TEST_F(StoreTest, SnapshotHoldsEveryResource) {
  auto store = OpenStore();
  Put(*store, "ns", "v");
  ASSERT_TRUE(store->Mutate("/nodes", "", "n1", [](const json*) {
    return Mutation{Mutation::kPut, json{{"metadata", {{"name", "n1"}}}}};
  }).ok());
  std::set<std::string> resources;
  for (const auto& [resource, obj] : store->Snapshot()) resources.insert(resource);
  EXPECT_EQ(resources, (std::set<std::string>{kVolumes, "/nodes"}));
}

TEST_F(StoreTest, EventsAfterReturnsChangesInOrder) {
  auto store = OpenStore();
  Put(*store, "ns", "a", {{"n", 1}});
  Put(*store, "ns", "a", {{"n", 2}});
  Put(*store, "ns", "b");
  ASSERT_TRUE(Delete(*store, "ns", "a").ok());
  bool too_old = true;
  auto events = store->EventsAfter(0, std::chrono::milliseconds(0), &too_old);
  EXPECT_FALSE(too_old);
  ASSERT_THAT(Revisions(events), ElementsAre(1u, 2u, 3u, 4u));
  EXPECT_EQ(events[0].type, EventType::kAdded);
  EXPECT_EQ(events[1].type, EventType::kModified);
  EXPECT_EQ(events[2].type, EventType::kAdded);
  EXPECT_EQ(events[3].type, EventType::kDeleted);
  EXPECT_EQ(events[1].resource, kVolumes);
  EXPECT_EQ(events[1].ns, "ns");
  EXPECT_EQ((*events[1].object)["spec"]["n"], 2);
  ASSERT_NE(events[1].previous, nullptr);
  EXPECT_EQ((*events[1].previous)["spec"]["n"], 1);
  EXPECT_EQ((*events[3].object)["metadata"]["resourceVersion"], "4");
  EXPECT_STREQ(EventTypeName(events[3].type), "DELETED");

  EXPECT_THAT(Revisions(store->EventsAfter(2, std::chrono::milliseconds(0), &too_old)),
              ElementsAre(3u, 4u));
  EXPECT_FALSE(too_old);
}

TEST_F(StoreTest, EventsAfterTimesOutWithNone) {
  auto store = OpenStore();
  Put(*store, "ns", "a");
  bool too_old = true;
  auto start = std::chrono::steady_clock::now();
  auto events = store->EventsAfter(store->Revision(), std::chrono::milliseconds(50), &too_old);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_THAT(events, IsEmpty());
  EXPECT_FALSE(too_old);
}

TEST_F(StoreTest, EventsAfterWakesOnAChange) {
  auto store = OpenStore();
  auto waiter = std::async(std::launch::async, [&] {
    bool too_old = false;
    return store->EventsAfter(0, std::chrono::seconds(60), &too_old);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Put(*store, "ns", "a");
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_THAT(Revisions(waiter.get()), ElementsAre(1u));
}

TEST_F(StoreTest, TooOldWhenHistoryIsTrimmed) {
  auto store = OpenStore(/*history_limit=*/3);
  for (int i = 0; i < 6; ++i) Put(*store, "ns", "v" + std::to_string(i));
  bool too_old = false;
  EXPECT_THAT(store->EventsAfter(0, std::chrono::milliseconds(0), &too_old), IsEmpty());
  EXPECT_TRUE(too_old);
  EXPECT_THAT(store->EventsAfter(2, std::chrono::milliseconds(0), &too_old), IsEmpty());
  EXPECT_TRUE(too_old);
  EXPECT_THAT(Revisions(store->EventsAfter(3, std::chrono::milliseconds(0), &too_old)),
              ElementsAre(4u, 5u, 6u));
  EXPECT_FALSE(too_old);
  EXPECT_THAT(Revisions(store->EventsAfter(5, std::chrono::milliseconds(0), &too_old)),
              ElementsAre(6u));
  EXPECT_FALSE(too_old);
}

TEST_F(StoreTest, ReopenKeepsObjectsRevisionsAndHistory) {
  {
    auto store = OpenStore();
    Put(*store, "ns", "a", {{"n", 1}});
    Put(*store, "ns", "a", {{"n", 2}});
    Put(*store, "ns", "b");
    Put(*store, "ns", "c");
    ASSERT_TRUE(Delete(*store, "ns", "b").ok());
    ASSERT_EQ(store->Revision(), 5u);
  }
  auto store = OpenStore();
  EXPECT_EQ(store->Revision(), 5u);
  ObjectPtr a = store->Get(kVolumes, "ns", "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*a)["spec"]["n"], 2);
  EXPECT_EQ((*a)["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(store->Get(kVolumes, "ns", "b"), nullptr);
  EXPECT_THAT(Names(store->List(kVolumes, "", "", 0, nullptr).items), ElementsAre("ns/a", "ns/c"));

  bool too_old = true;
  auto events = store->EventsAfter(1, std::chrono::milliseconds(0), &too_old);
  EXPECT_FALSE(too_old);
  ASSERT_THAT(Revisions(events), ElementsAre(2u, 3u, 4u, 5u));
  EXPECT_EQ(events[0].type, EventType::kModified);
  EXPECT_EQ(events[1].type, EventType::kAdded);
  EXPECT_EQ(events[3].type, EventType::kDeleted);
  EXPECT_EQ(events[3].resource, kVolumes);
  EXPECT_EQ(events[3].ns, "ns");
  EXPECT_EQ((*events[3].object)["metadata"]["name"], "b");

  // New changes continue the sequence.
  Put(*store, "ns", "d");
  EXPECT_EQ(store->Revision(), 6u);
  EXPECT_THAT(Revisions(store->EventsAfter(4, std::chrono::milliseconds(0), &too_old)),
              ElementsAre(5u, 6u));
}

TEST_F(StoreTest, ReopenAfterTheLastChangeWasADelete) {
  {
    auto store = OpenStore();
    Put(*store, "ns", "a");
    ASSERT_TRUE(Delete(*store, "ns", "a").ok());
  }
  auto store = OpenStore();
  EXPECT_EQ(store->Revision(), 2u);  // not 1, from the objects table alone
  EXPECT_EQ((*Put(*store, "ns", "a"))["metadata"]["resourceVersion"], "3");
}

TEST_F(StoreTest, ReopenWithTrimmedHistory) {
  // Past revision 256 the database's history is trimmed too; reopening keeps the newest.
  {
    auto store = OpenStore(/*history_limit=*/10);
    for (int i = 0; i < 300; ++i) Put(*store, "ns", "v" + std::to_string(i % 7));
  }
  auto store = OpenStore(/*history_limit=*/10);
  EXPECT_EQ(store->Revision(), 300u);
  EXPECT_EQ(store->List(kVolumes, "", "", 0, nullptr).items.size(), 7u);
  bool too_old = false;
  EXPECT_THAT(Revisions(store->EventsAfter(290, std::chrono::milliseconds(0), &too_old)),
              ElementsAre(291u, 292u, 293u, 294u, 295u, 296u, 297u, 298u, 299u, 300u));
  EXPECT_FALSE(too_old);
  EXPECT_THAT(store->EventsAfter(289, std::chrono::milliseconds(0), &too_old), IsEmpty());
  EXPECT_TRUE(too_old);
}

TEST_F(StoreTest, TheHistoryIsBoundedInBytes) {
  // Objects of about 1 KiB, a history of at most 100 changes and 4 KiB: the bytes bind
  // first. The newest changes are kept, in memory and (after the trim at revision 256) on
  // disk too, and one change larger than the whole bound is still kept.
  const std::string kilobyte(1000, 'x');
  auto open = [&] {
    auto s = Store::Open(path_, /*history_limit=*/100, /*history_bytes=*/4096);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(*s);
  };
  {
    auto store = open();
    for (int i = 0; i < 300; ++i) Put(*store, "ns", "v" + std::to_string(i % 5), {{"pad", kilobyte}});
    bool too_old = false;
    EXPECT_THAT(Revisions(store->EventsAfter(297, std::chrono::milliseconds(0), &too_old)),
                ElementsAre(298u, 299u, 300u));
    EXPECT_THAT(store->EventsAfter(296, std::chrono::milliseconds(0), &too_old), IsEmpty());
    EXPECT_TRUE(too_old);
  }
  auto store = open();
  bool too_old = false;
  EXPECT_THAT(Revisions(store->EventsAfter(297, std::chrono::milliseconds(0), &too_old)),
              ElementsAre(298u, 299u, 300u));
  EXPECT_FALSE(too_old);
  Put(*store, "ns", "big", {{"pad", std::string(10'000, 'y')}});
  EXPECT_THAT(Revisions(store->EventsAfter(300, std::chrono::milliseconds(0), &too_old)), ElementsAre(301u));
  EXPECT_FALSE(too_old);
}

TEST_F(StoreTest, TheByteBoundKeepsWhatTheServersReadersHaveNotRead) {
  auto opened = Store::Open(path_, /*history_limit=*/100, /*history_bytes=*/4096);
  ASSERT_TRUE(opened.ok());
  auto store = std::move(*opened);
  const int reader = store->AddReader(0);
  const std::string kilobyte(1000, 'x');
  for (int i = 0; i < 10; ++i) Put(*store, "ns", "v" + std::to_string(i), {{"pad", kilobyte}});
  // Ten kilobytes kept past the four-kilobyte bound: the reader has read none of it.
  bool too_old = true;
  EXPECT_EQ(store->EventsAfter(0, std::chrono::milliseconds(0), &too_old, reader).size(), 10u);
  EXPECT_FALSE(too_old);
  // Once it has read them, the next change trims to the bound.
  store->EventsAfter(10, std::chrono::milliseconds(0), &too_old, reader);
  Put(*store, "ns", "v10", {{"pad", kilobyte}});
  EXPECT_THAT(store->EventsAfter(5, std::chrono::milliseconds(0), &too_old), IsEmpty());
  EXPECT_TRUE(too_old);
  // The count bound holds regardless.
  for (int i = 0; i < 150; ++i) Put(*store, "ns", "c", {{"n", i}});
  EXPECT_THAT(store->EventsAfter(10, std::chrono::milliseconds(0), &too_old), IsEmpty());
  EXPECT_TRUE(too_old);
}

TEST_F(StoreTest, InMemoryStoreKeepsNothing) {
  {
    auto s = Store::Open(":memory:", 10);
    ASSERT_TRUE(s.ok());
    Put(**s, "ns", "a");
  }
  auto s = Store::Open(":memory:", 10);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Revision(), 0u);
}

TEST_F(StoreTest, ShutdownWakesAWaiter) {
  auto store = OpenStore();
  auto waiter = std::async(std::launch::async, [&] {
    bool too_old = true;
    auto events = store->EventsAfter(0, std::chrono::hours(1), &too_old);
    return std::make_pair(events.size(), too_old);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  store->Shutdown();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto [count, too_old] = waiter.get();
  EXPECT_EQ(count, 0u);
  EXPECT_FALSE(too_old);
  // Later waiters return at once too.
  bool too_old2 = true;
  EXPECT_THAT(store->EventsAfter(0, std::chrono::hours(1), &too_old2), IsEmpty());
}

// Waits (bounded) until `cond` holds.
bool Within(const std::function<bool()>& cond) {
  for (int i = 0; i < 2000 && !cond(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return cond();
}

TEST_F(StoreTest, WritersWaitingBehindACommitShareTheNextOne) {
  auto store = OpenStore();
  constexpr int kWriters = 16;
  std::atomic<int> hooks{0};
  std::vector<size_t> batches;
  Mutex batches_mu;
  store->SetCommitHookForTesting([&](size_t batch) {
    {
      MutexLock lock(&batches_mu);
      batches.push_back(batch);
    }
    // The first transaction waits until every other writer has queued behind it.
    if (hooks++ == 0) Within([&] { return store->QueuedForTesting() == kWriters - 1; });
  });
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i) writers.emplace_back([&, i] { Put(*store, "ns", "v" + std::to_string(i)); });
  for (auto& t : writers) t.join();
  EXPECT_EQ(store->commits(), 2u);
  EXPECT_THAT(batches, ElementsAre(1u, size_t{kWriters - 1}));
  // One revision each, no gap, all readable, and all there after a restart.
  bool too_old = false;
  EXPECT_EQ(store->EventsAfter(0, std::chrono::milliseconds(0), &too_old).size(), size_t{kWriters});
  EXPECT_EQ(store->Revision(), uint64_t{kWriters});
  store.reset();
  store = OpenStore();
  EXPECT_EQ(store->List(kVolumes, "", "", 0, nullptr).items.size(), size_t{kWriters});
}

TEST_F(StoreTest, ReadsDoNotWaitForACommit) {
  auto store = OpenStore();
  Put(*store, "ns", "old");
  std::atomic<bool> entered{false}, release{false};
  store->SetCommitHookForTesting([&](size_t) {
    entered = true;
    Within([&] { return release.load(); });
  });
  auto writer = std::async(std::launch::async, [&] { return Put(*store, "ns", "new"); });
  ASSERT_TRUE(Within([&] { return entered.load(); }));
  // The commit is held; reads answer, and see only what is committed.
  EXPECT_NE(store->Get(kVolumes, "ns", "old"), nullptr);
  EXPECT_EQ(store->Get(kVolumes, "ns", "new"), nullptr);
  EXPECT_EQ(store->List(kVolumes, "", "", 0, nullptr).items.size(), 1u);
  EXPECT_EQ(store->Revision(), 1u);
  release = true;
  EXPECT_NE(writer.get(), nullptr);
  EXPECT_NE(store->Get(kVolumes, "ns", "new"), nullptr);
}

TEST_F(StoreTest, AFailedCommitTakesWhatWasQueuedBehindItAndLeavesNoTrace) {
  auto store = OpenStore();
  Put(*store, "ns", "before");
  std::atomic<int> hooks{0};
  store->SetCommitHookForTesting([&](size_t) {
    if (hooks++ == 0) {
      // While "big" waits to commit, "next" is queued behind it with the revision after.
      // Then the disk fills: "big" cannot be written. A later transaction would have room.
      Within([&] { return store->QueuedForTesting() == 1; });
      ASSERT_TRUE(store->LimitPagesForTesting(1).ok());
    } else {
      ASSERT_TRUE(store->LimitPagesForTesting(1u << 30).ok());
    }
  });
  auto big = std::async(std::launch::async, [&] {
    return store->Mutate(kVolumes, "ns", "big", [](const json*) {
      return Mutation{Mutation::kPut, {{"metadata", {{"name", "big"}, {"namespace", "ns"}}},
                                       {"spec", {{"blob", std::string(1 << 20, 'x')}}}}};
    });
  });
  ASSERT_TRUE(Within([&] { return hooks == 1; }));
  auto next = store->Mutate(kVolumes, "ns", "next", [](const json*) {
    return Mutation{Mutation::kPut, {{"metadata", {{"name", "next"}, {"namespace", "ns"}}}}};
  });
  EXPECT_FALSE(big.get().ok());
  EXPECT_FALSE(next.ok()) << "a write numbered after a failed commit was committed";
  EXPECT_EQ(store->Get(kVolumes, "ns", "big"), nullptr);
  EXPECT_EQ(store->Revision(), 1u);
  // The next write starts from the committed state, with the next revision.
  store->SetCommitHookForTesting(nullptr);
  ASSERT_TRUE(store->LimitPagesForTesting(1u << 30).ok());
  EXPECT_EQ(Put(*store, "ns", "after")->at("metadata").value("resourceVersion", ""), "2");
  bool too_old = false;
  EXPECT_THAT(Revisions(store->EventsAfter(0, std::chrono::milliseconds(0), &too_old)), ElementsAre(1u, 2u));
  store.reset();
  store = OpenStore();
  EXPECT_THAT(Names(store->List(kVolumes, "", "", 0, nullptr).items), ElementsAre("ns/after", "ns/before"));
}

TEST_F(StoreTest, AnAnswerAboutAnObjectWaitsForItsChangeInFlight) {
  auto store = OpenStore();
  std::atomic<bool> entered{false}, release{false};
  store->SetCommitHookForTesting([&](size_t) {
    entered = true;
    Within([&] { return release.load(); });
  });
  auto writer = std::async(std::launch::async, [&] { return Put(*store, "ns", "a"); });
  ASSERT_TRUE(Within([&] { return entered.load(); }));
  // A decision to change nothing (a no-op update) about "a" while its creation commits.
  auto noop = std::async(std::launch::async, [&] {
    return store->Mutate(kVolumes, "ns", "a", [](const json*) { return Mutation{}; });
  });
  if (noop.wait_for(std::chrono::milliseconds(200)) == std::future_status::ready) {
    // Answered while the creation is not committed: only right if readers see it too.
    EXPECT_NE(store->Get(kVolumes, "ns", "a"), nullptr) << "an answer showed state not yet committed";
  }
  release = true;
  ASSERT_NE(writer.get(), nullptr);
  auto answer = noop.get();
  ASSERT_TRUE(answer.ok());
  ASSERT_NE(*answer, nullptr);
  EXPECT_EQ((**answer)["metadata"]["resourceVersion"], "1");
}

}  // namespace
}  // namespace cstor::apiserver
