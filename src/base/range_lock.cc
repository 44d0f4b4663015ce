#include "base/range_lock.h"

#include <vector>

#include "base/check.h"

namespace cstor {

RangeLock::Id RangeLock::Acquire(uint64_t first, uint64_t count, bool exclusive,
                                 std::function<void(Id)> granted) {
  Id id = next_id_++;
  entries_.push_back(Entry{id, first, first + count, exclusive, false, std::move(granted)});
  Grant();
  return id;
}

void RangeLock::Release(Id id) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->id == id) {
      CSTOR_CHECK(it->granted);
      entries_.erase(it);
      Grant();
      return;
    }
  }
  CSTOR_CHECK(false && "release of an unknown range lock");
}

void RangeLock::Grant() {
  std::vector<std::pair<Id, std::function<void(Id)>>> to_run;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->granted) continue;
    bool blocked = false;
    for (auto before = entries_.begin(); before != it; ++before) {
      if (Conflict(*before, *it)) {
        blocked = true;
        break;
      }
    }
    if (blocked) continue;
    it->granted = true;
    to_run.emplace_back(it->id, std::move(it->on_grant));
  }
  for (auto& [id, f] : to_run) f(id);  // after the scan: a callback may change entries_
}

size_t RangeLock::held() const {
  size_t n = 0;
  for (const auto& e : entries_) n += e.granted;
  return n;
}

size_t RangeLock::waiting() const { return entries_.size() - held(); }

}  // namespace cstor
