#include "apiserver/store.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include "base/log.h"

namespace cstor::apiserver {
namespace {

Status SqliteError(sqlite3* db, std::string_view what) {
  return Status::IoError(std::string(what) + ": " + sqlite3_errmsg(db));
}

const char* kSchema = R"sql(
  CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL,
    key      TEXT NOT NULL,
    revision INTEGER NOT NULL,
    object   TEXT NOT NULL,
    PRIMARY KEY (resource, key)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS history (
    revision INTEGER PRIMARY KEY,
    type     INTEGER NOT NULL,
    resource TEXT NOT NULL,
    ns       TEXT NOT NULL,
    object   TEXT NOT NULL
  );
)sql";

}  // namespace

const char* EventTypeName(EventType t) {
  switch (t) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
  }
  return "ERROR";
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, size_t history_limit,
                                           size_t history_bytes) {
  std::unique_ptr<Store> store(new Store());
  store->history_limit_ = std::max<size_t>(history_limit, 1);
  store->history_bytes_limit_ = history_bytes;
  if (sqlite3_open_v2(path.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return SqliteError(store->db_, "open " + path);
  }
  // WAL with a full sync at each commit: an acknowledged write survives power loss.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (Status s = store->Exec(sql); !s.ok()) return s;
  }
  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } statements[] = {
      {&store->put_, "INSERT OR REPLACE INTO objects VALUES (?1, ?2, ?3, ?4)"},
      {&store->del_, "DELETE FROM objects WHERE resource = ?1 AND key = ?2"},
      {&store->log_, "INSERT INTO history VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&store->trim_, "DELETE FROM history WHERE revision <= ?1"},
  };
  for (auto& st : statements) {
    if (sqlite3_prepare_v3(store->db_, st.sql, -1, SQLITE_PREPARE_PERSISTENT, st.stmt, nullptr) !=
        SQLITE_OK) {
      return SqliteError(store->db_, "prepare");
    }
  }
  if (Status s = store->Load(); !s.ok()) return s;
  {
    MutexLock writers(&store->write_mu_);
    MutexLock readers(&store->mu_);
    store->next_revision_ = store->revision_;
  }
  return store;
}

Store::~Store() {
  for (sqlite3_stmt* st : {put_, del_, log_, trim_}) sqlite3_finalize(st);
  sqlite3_close(db_);
}

Status Store::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IoError(std::string("sqlite: ") + msg);
  }
  return Status::Ok();
}

Status Store::Load() {
  MutexLock lock(&mu_);
  auto column_text = [](sqlite3_stmt* st, int i) {
    return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                       static_cast<size_t>(sqlite3_column_bytes(st, i)));
  };
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_, "SELECT resource, key, revision, object FROM objects", -1, &st, nullptr);
  size_t count = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto obj = std::make_shared<const nlohmann::json>(nlohmann::json::parse(column_text(st, 3)));
    objects_[column_text(st, 0)][column_text(st, 1)] = std::move(obj);
    revision_ = std::max<uint64_t>(revision_, static_cast<uint64_t>(sqlite3_column_int64(st, 2)));
    ++count;
  }
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db_, "SELECT revision, type, resource, ns, object FROM history ORDER BY revision",
                     -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    StoredEvent ev;
    ev.revision = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    ev.type = static_cast<EventType>(sqlite3_column_int(st, 1));
    ev.resource = column_text(st, 2);
    ev.ns = column_text(st, 3);
    const std::string text = column_text(st, 4);
    ev.object = std::make_shared<const nlohmann::json>(nlohmann::json::parse(text));
    ev.bytes = text.size();
    revision_ = std::max(revision_, ev.revision);
    history_bytes_ += ev.bytes;
    history_.push_back(std::move(ev));
  }
  sqlite3_finalize(st);
  TrimHistory();
  CSTOR_LOG_INFO("apiserver store: {} objects, {} history entries, revision {}", count, history_.size(),
           revision_);
  return Status::Ok();
}

uint64_t Store::Revision() const {
  MutexLock lock(&mu_);
  return revision_;
}

ObjectPtr Store::Get(const std::string& resource, const std::string& ns,
                     const std::string& name) const {
  MutexLock lock(&mu_);
  auto r = objects_.find(resource);
  if (r == objects_.end()) return nullptr;
  auto it = r->second.find(ObjectKey(ns, name));
  return it == r->second.end() ? nullptr : it->second;
}

Store::Page Store::List(const std::string& resource, const std::string& ns,
                        const std::string& after_key, size_t limit,
                        const std::function<bool(const nlohmann::json&)>& filter,
                        uint64_t at_revision, bool* too_old) const {
  Page page;
  if (too_old != nullptr) *too_old = false;
  std::vector<ObjectPtr> candidates;
  {
    MutexLock lock(&mu_);
    page.revision = at_revision == 0 || at_revision >= revision_ ? revision_ : at_revision;
    const std::string prefix = ns.empty() ? "" : ns + "/";
    auto in_range = [&](const std::string& key) {
      return key.starts_with(prefix) && (after_key.empty() || key > after_key);
    };
    // The state at an older revision: the objects changed since, as they were then (null:
    // absent then), found by undoing the history newest first. Each needs the history to
    // reach back to it and, for a modification, the state before (not kept across a
    // restart).
    std::map<std::string, ObjectPtr> then;
    if (page.revision < revision_) {
      if (history_.empty() || history_.front().revision > page.revision + 1) {
        if (too_old != nullptr) *too_old = true;
        return {};
      }
      for (auto ev = history_.rbegin(); ev != history_.rend() && ev->revision > page.revision; ++ev) {
        if (ev->resource != resource) continue;
        const std::string key = ObjectKey(ev->ns, (*ev->object)["metadata"].value("name", ""));
        if (!in_range(key)) continue;
        if (ev->type == EventType::kAdded) {
          then[key] = nullptr;
        } else if (ev->previous) {
          then[key] = ev->previous;
        } else {
          if (too_old != nullptr) *too_old = true;
          return {};
        }
      }
    }
    // Merge the present with what differed then, both in key order.
    static const std::map<std::string, ObjectPtr> kNone;
    auto r = objects_.find(resource);
    const auto& now = r == objects_.end() ? kNone : r->second;
    auto it = after_key.empty() ? now.lower_bound(prefix) : now.upper_bound(after_key);
    auto old = then.begin();
    candidates.reserve(now.size());
    while (true) {
      const bool have_now = it != now.end() && it->first.starts_with(prefix);
      if (!have_now && old == then.end()) break;
      if (old != then.end() && (!have_now || old->first <= it->first)) {
        if (have_now && old->first == it->first) ++it;
        if (old->second) candidates.push_back(old->second);
        ++old;
      } else {
        candidates.push_back(it->second);
        ++it;
      }
    }
  }
  // Objects are immutable: filtering needs no lock.
  for (ObjectPtr& obj : candidates) {
    if (filter && !filter(*obj)) continue;
    if (limit != 0 && page.items.size() == limit) {
      ++page.remaining;
      continue;
    }
    page.items.push_back(std::move(obj));
    if (limit != 0 && page.items.size() == limit) {
      const nlohmann::json& meta = (*page.items.back())["metadata"];
      page.last_key = ObjectKey(meta.value("namespace", ""), meta.value("name", ""));
    }
  }
  if (page.remaining == 0) page.last_key.clear();
  return page;
}

std::vector<std::pair<std::string, ObjectPtr>> Store::Snapshot() const {
  MutexLock lock(&mu_);
  std::vector<std::pair<std::string, ObjectPtr>> out;
  for (const auto& [resource, objects] : objects_) {
    for (const auto& entry : objects) out.emplace_back(resource, entry.second);
  }
  return out;
}

// One mutation on its way to disk.
struct Store::Pending {
  StoredEvent ev;
  std::string key;   // ObjectKey(ns, name)
  std::string text;  // the object as stored
  bool done = false;
  Status result;
};

Status Store::CommitBatch(const std::vector<std::shared_ptr<Pending>>& batch) {
  auto bind_text = [](sqlite3_stmt* st, int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  };
  auto run = [&](sqlite3_stmt* st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
  };
  if (commit_hook_) commit_hook_(batch.size());
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  bool ok = true;
  for (const auto& p : batch) {
    const StoredEvent& ev = p->ev;
    if (ev.type == EventType::kDeleted) {
      bind_text(del_, 1, ev.resource);
      bind_text(del_, 2, p->key);
      ok = run(del_);
    } else {
      bind_text(put_, 1, ev.resource);
      bind_text(put_, 2, p->key);
      sqlite3_bind_int64(put_, 3, static_cast<int64_t>(ev.revision));
      bind_text(put_, 4, p->text);
      ok = run(put_);
    }
    sqlite3_bind_int64(log_, 1, static_cast<int64_t>(ev.revision));
    sqlite3_bind_int(log_, 2, static_cast<int>(ev.type));
    bind_text(log_, 3, ev.resource);
    bind_text(log_, 4, ev.ns);
    bind_text(log_, 5, p->text);
    ok = ok && run(log_);
    if (!ok) break;
  }
  // The history on disk is trimmed now and then, to what is kept in memory.
  const uint64_t last = batch.back()->ev.revision, first = batch.front()->ev.revision;
  if (const uint64_t through = trimmed_through_.load(); ok && last / 256 != (first - 1) / 256 && through > 0) {
    sqlite3_bind_int64(trim_, 1, static_cast<int64_t>(through));
    ok = run(trim_);
  }
  if (ok) {
    if (Status s = Exec("COMMIT"); s.ok()) return s;
  }
  Status err = SqliteError(db_, "commit");
  (void)Exec("ROLLBACK");
  return err;
}

void Store::Publish(const std::vector<std::shared_ptr<Pending>>& batch) {
  MutexLock lock(&mu_);
  for (const auto& p : batch) {
    const StoredEvent& ev = p->ev;
    auto& objects = objects_[ev.resource];
    if (ev.type == EventType::kDeleted) {
      objects.erase(p->key);
    } else {
      objects[p->key] = ev.object;
    }
    revision_ = ev.revision;
    history_bytes_ += ev.bytes;
    history_.push_back(ev);
  }
  TrimHistory();
  changed_.SignalAll();
}

void Store::TrimHistory() {
  uint64_t unread = UINT64_MAX;  // the oldest change a reader has yet to read
  for (uint64_t r : readers_) unread = std::min(unread, r + 1);
  while (history_.size() > history_limit_ ||
         (history_.size() > 1 && history_bytes_ > history_bytes_limit_ && history_.front().revision < unread)) {
    history_bytes_ -= history_.front().bytes;
    history_.pop_front();
  }
  if (!history_.empty()) trimmed_through_ = history_.front().revision - 1;
}

Result<ObjectPtr> Store::Mutate(const std::string& resource, const std::string& ns,
                                const std::string& name,
                                const std::function<Mutation(const nlohmann::json*)>& decide) {
  const std::string key = ObjectKey(ns, name);
  MutexLock lock(&write_mu_);
  // A change to this object still on its way to disk is waited for: every answer, a
  // decision to change nothing included, rests on committed state. (Changes to other
  // objects go on being queued meanwhile and share commits.)
  while (pending_.count({resource, key})) committed_.Wait();
  ObjectPtr current = Get(resource, ns, name);
  Mutation m = decide(current.get());
  if (m.kind == Mutation::kNone) return current;
  if (m.kind == Mutation::kDelete && !current) return Status::NotFound(key);

  auto pending = std::make_shared<Pending>();
  StoredEvent& ev = pending->ev;
  ev.revision = next_revision_ + 1;
  ev.resource = resource;
  ev.ns = ns;
  ev.previous = current;  // as stored, for a snapshot read at an older revision
  if (m.kind == Mutation::kDelete) {
    ev.type = EventType::kDeleted;
    // The final state carries the revision of the deletion, as Kubernetes does.
    nlohmann::json last = *current;
    last["metadata"]["resourceVersion"] = std::to_string(ev.revision);
    ev.object = std::make_shared<const nlohmann::json>(std::move(last));
  } else {
    ev.type = current ? EventType::kModified : EventType::kAdded;
    m.object["metadata"]["resourceVersion"] = std::to_string(ev.revision);
    ev.object = std::make_shared<const nlohmann::json>(std::move(m.object));
  }
  pending->key = key;
  pending->text = ev.object->dump();
  ev.bytes = pending->text.size();
  next_revision_ = ev.revision;
  pending_[{resource, key}] = ev.revision;
  queue_.push_back(pending);

  while (!pending->done) {
    if (committing_) {
      committed_.Wait();
      continue;
    }
    // This writer commits everything queued, its own change and those of the writers
    // waiting behind it, in one transaction.
    committing_ = true;
    std::vector<std::shared_ptr<Pending>> batch = std::move(queue_);
    queue_.clear();
    write_mu_.Unlock();
    Status s;
    try {
      s = CommitBatch(batch);
    } catch (const std::exception& e) {
      (void)Exec("ROLLBACK");
      s = Status::Internal(std::string("commit: ") + e.what());
    }
    if (s.ok()) Publish(batch);  // durable now: what readers see must follow
    write_mu_.Lock();
    committing_ = false;
    ++commits_;
    for (const auto& p : batch) {
      p->done = true;
      p->result = s;
      auto it = pending_.find({p->ev.resource, p->key});
      if (it != pending_.end() && it->second == p->ev.revision) pending_.erase(it);
    }
    if (!s.ok()) {
      // Fence: what was queued meanwhile was given revisions after the ones that just
      // failed. It fails with them (its clients retry), and revisions start again from
      // the committed one, so that none is skipped.
      CSTOR_LOG_ERROR("apiserver store: a commit of {} changes failed: {}", batch.size(), s.ToString());
      for (const auto& p : queue_) {
        p->done = true;
        p->result = Status::Unavailable("the store's commit failed: " + s.message());
      }
      queue_.clear();
      pending_.clear();
      MutexLock read(&mu_);
      next_revision_ = revision_;
    }
    committed_.SignalAll();
  }
  if (!pending->result.ok()) return pending->result;
  return ev.object;
}

Status Store::LimitPagesForTesting(uint64_t pages) {
  return Exec(fmt::format("PRAGMA max_page_count={}", pages).c_str());
}

void Store::SetCommitHookForTesting(std::function<void(size_t)> hook) { commit_hook_ = std::move(hook); }

size_t Store::QueuedForTesting() const {
  MutexLock lock(&write_mu_);
  return queue_.size();
}

uint64_t Store::commits() const {
  MutexLock lock(&write_mu_);
  return commits_;
}

int Store::AddReader(uint64_t revision) {
  MutexLock lock(&mu_);
  readers_.push_back(revision);
  return static_cast<int>(readers_.size() - 1);
}

std::vector<StoredEvent> Store::EventsAfter(uint64_t revision, std::chrono::milliseconds timeout,
                                            bool* too_old, int reader) {
  *too_old = false;
  MutexLock lock(&mu_);
  if (reader >= 0 && static_cast<size_t>(reader) < readers_.size()) readers_[static_cast<size_t>(reader)] = revision;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!shutdown_ && revision_ <= revision) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return {};
    changed_.WaitFor(std::chrono::duration_cast<std::chrono::microseconds>(deadline - now));
  }
  if (revision_ <= revision) return {};
  // History holds a contiguous run of revisions ending at revision_.
  if (history_.empty() || history_.front().revision > revision + 1) {
    *too_old = true;
    return {};
  }
  std::vector<StoredEvent> out;
  auto it = history_.begin() + static_cast<std::ptrdiff_t>(revision + 1 - history_.front().revision);
  out.assign(it, history_.end());
  return out;
}

void Store::Shutdown() {
  MutexLock lock(&mu_);
  shutdown_ = true;
  changed_.SignalAll();
}

}  // namespace cstor::apiserver
