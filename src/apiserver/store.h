// Store: every object the API server holds, in memory for reads and in SQLite (WAL) for
// durability, plus the recent history of changes that watches are served from.
//
// Each change gets the next resourceVersion (one counter for the whole store, as etcd's
// revision) and is committed, object and history row, before the caller hears of it; a
// restart reloads both, so watches resume from where they were.
//
// Writers commit in groups: a mutation decides on the committed state (waiting for a
// change to the same object still on its way to disk) and joins the queue; one writer at
// a time takes the whole queue into one SQLite transaction and one sync, so concurrent
// writers share an fsync. Readers see only committed state and never wait for a sync: the
// committed state is published under a short lock after the transaction is durable. When
// a transaction fails it is rolled back, and every mutation queued behind it fails too
// (its revision followed the failed ones); revisions start again from the committed one.
//
// Thread-safe. Objects are immutable once stored (shared_ptr<const json>), so readers
// copy pointers under the lock and serialize outside it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/mutex.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cstor::apiserver {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

enum class EventType { kAdded, kModified, kDeleted };
const char* EventTypeName(EventType t);

struct StoredEvent {
  uint64_t revision = 0;
  EventType type = EventType::kAdded;
  std::string resource;  // ResourceDef::StorageKey(), "cstor.openebs.io/cstorvolumes"
  std::string ns;        // "" for cluster-scoped objects
  ObjectPtr object;      // the new state; for kDeleted, the last state
  ObjectPtr previous;    // the state before a kModified or kDeleted (null after a restart)
  size_t bytes = 0;      // the size of `object` as stored (serialized)
};

// What a mutation decides to do with the object it was shown.
struct Mutation {
  enum Kind { kNone, kPut, kDelete } kind = kNone;
  nlohmann::json object;  // for kPut: the new object (its resourceVersion is set by the store)
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" keeps nothing on disk.
  // The history kept for watches holds at most `history_limit` changes whose objects take
  // at most `history_bytes` serialized (the newest change is always kept); a watch or a
  // list from an older revision gets 410 Gone.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, size_t history_limit,
                                             size_t history_bytes = SIZE_MAX);
  ~Store();

  uint64_t Revision() const;
  ObjectPtr Get(const std::string& resource, const std::string& ns, const std::string& name) const;

  struct Page {
    uint64_t revision = 0;
    std::vector<ObjectPtr> items;
    std::string last_key;   // set when more items remain: where the next page starts after
    size_t remaining = 0;   // matching items after this page
  };
  // Objects of `resource` in `ns` ("" for every namespace) ordered by namespace/name,
  // starting after `after_key`, at most `limit` (0: no limit), that `filter` accepts: as
  // they are now (`at_revision` 0), or as they were at `at_revision`, rebuilt from the
  // history. That is how the pages of one list stay one snapshot. When the history no
  // longer reaches back that far, *too_old is set and the page is empty (the caller
  // answers 410 Gone).
  Page List(const std::string& resource, const std::string& ns, const std::string& after_key,
            size_t limit, const std::function<bool(const nlohmann::json&)>& filter,
            uint64_t at_revision = 0, bool* too_old = nullptr) const;
  // Every stored object of every resource (for garbage collection sweeps).
  std::vector<std::pair<std::string, ObjectPtr>> Snapshot() const;

  // Runs `decide` on the committed state of the object (null when absent), with other
  // mutations held off, and commits what it returns. Exceptions from `decide` propagate
  // with nothing changed. Returns the stored object (kPut), the deleted one (kDelete), or
  // the current (kNone); an error when the commit failed (nothing of it is visible).
  Result<ObjectPtr> Mutate(const std::string& resource, const std::string& ns,
                           const std::string& name,
                           const std::function<Mutation(const nlohmann::json* current)>& decide);

  // Changes after `revision`, waiting up to `timeout` for one. Sets *too_old when
  // `revision` is older than the history kept (the caller must relist: 410 Gone). A
  // `reader` (from AddReader) says it has consumed everything up to `revision`.
  std::vector<StoredEvent> EventsAfter(uint64_t revision, std::chrono::milliseconds timeout,
                                       bool* too_old, int reader = -1);
  // The server's own followers of the history (the watch hub, the garbage collector):
  // the byte bound never drops a change one of them has not read yet (the count bound
  // still does). Starts at `revision`.
  int AddReader(uint64_t revision);
  // Wakes every EventsAfter waiter; they return at once from now on.
  void Shutdown();

  // For tests. Caps the database file at `pages` pages (SQLite's max_page_count), so that
  // a real commit fails with SQLITE_FULL; call it from the commit hook or with no write
  // in flight. The hook runs before each transaction, given its size, on the writer that
  // commits it, with no lock held.
  Status LimitPagesForTesting(uint64_t pages);
  void SetCommitHookForTesting(std::function<void(size_t batch)> hook);
  size_t QueuedForTesting() const;
  // Transactions committed or failed so far.
  uint64_t commits() const;

 private:
  Store() = default;
  Status Exec(const char* sql);
  Status Load();
  struct Pending;
  // Writes `batch` in one transaction. Called by one writer at a time, without locks.
  Status CommitBatch(const std::vector<std::shared_ptr<Pending>>& batch);
  // Makes a committed batch visible to readers and watchers.
  void Publish(const std::vector<std::shared_ptr<Pending>>& batch) EXCLUDES(mu_);
  // Drops the oldest changes beyond the history's limits.
  void TrimHistory() REQUIRES(mu_);

  static std::string ObjectKey(const std::string& ns, const std::string& name) {
    return ns + "/" + name;
  }

  // Writers: decisions, the queue, and who commits. Never held during a sync.
  mutable Mutex write_mu_ ACQUIRED_BEFORE(mu_);
  CondVar committed_{&write_mu_};
  uint64_t next_revision_ GUARDED_BY(write_mu_) = 0;  // the last revision handed out
  // Objects with a change not yet committed, and its revision.
  std::map<std::pair<std::string, std::string>, uint64_t> pending_ GUARDED_BY(write_mu_);
  std::vector<std::shared_ptr<Pending>> queue_ GUARDED_BY(write_mu_);
  bool committing_ GUARDED_BY(write_mu_) = false;
  uint64_t commits_ GUARDED_BY(write_mu_) = 0;
  std::function<void(size_t)> commit_hook_;  // set before writes start

  // Committed state, for readers.
  mutable Mutex mu_;
  mutable CondVar changed_{&mu_};
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  sqlite3_stmt* log_ = nullptr;
  sqlite3_stmt* trim_ = nullptr;
  size_t history_limit_ = 0;
  size_t history_bytes_limit_ = 0;
  // The newest revision no longer in the history: the writer trims the disk's copy to it.
  std::atomic<uint64_t> trimmed_through_{0};
  uint64_t revision_ GUARDED_BY(mu_) = 0;
  bool shutdown_ GUARDED_BY(mu_) = false;
  // resource -> "ns/name" -> object
  std::map<std::string, std::map<std::string, ObjectPtr>> objects_ GUARDED_BY(mu_);
  std::deque<StoredEvent> history_ GUARDED_BY(mu_);
  size_t history_bytes_ GUARDED_BY(mu_) = 0;  // the sum of history_'s `bytes`
  std::vector<uint64_t> readers_ GUARDED_BY(mu_);  // by reader id: read up to here
};

}  // namespace cstor::apiserver
