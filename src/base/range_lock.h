// RangeLock: shared and exclusive locks over block ranges, granted in arrival order. (The
// replicated volume's writes take their blocks shared, its read-modify-writes and snapshots
// exclusively; the SCSI layer makes COMPARE AND WRITE atomic with it.)
//
// Not thread-safe: used on one event loop. A grant callback may acquire or
// release locks.
#pragma once

#include <cstdint>
#include <functional>
#include <list>

namespace cstor {

class RangeLock {
 public:
  using Id = uint64_t;
  // Calls granted(id) once no earlier conflicting request is waiting or held — possibly
  // before Acquire returns, which is why the id is passed in.
  Id Acquire(uint64_t first, uint64_t count, bool exclusive, std::function<void(Id)> granted);
  void Release(Id id);
  size_t held() const;
  size_t waiting() const;

 private:
  struct Entry {
    Id id;
    uint64_t first, end;
    bool exclusive;
    bool granted = false;
    std::function<void(Id)> on_grant;
  };
  static bool Conflict(const Entry& a, const Entry& b) {
    return a.first < b.end && b.first < a.end && (a.exclusive || b.exclusive);
  }
  void Grant();

  std::list<Entry> entries_;  // arrival order
  Id next_id_ = 1;
};

}  // namespace cstor
