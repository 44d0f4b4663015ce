// slow_sync: an LD_PRELOAD library that makes fsync and fdatasync take SLOW_SYNC_US
// microseconds longer, as on a disk whose cache flush is slow (a SATA SSD without
// power-loss protection, a network volume). apiserver_bench runs under it to show what
// group commit saves where a sync costs milliseconds; this machine's virtual disk syncs
// in a fraction of one. For benchmarks only.
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

namespace {

void Delay() {
  static const long us = [] {
    const char* v = std::getenv("SLOW_SYNC_US");
    return v != nullptr ? std::atol(v) : 0L;
  }();
  if (us <= 0) return;
  timespec ts{us / 1'000'000, (us % 1'000'000) * 1000};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fsync(int fd) {
  static const auto real = Next<int (*)(int)>("fsync");
  const int rc = real(fd);
  Delay();
  return rc;
}

extern "C" int fdatasync(int fd) {
  static const auto real = Next<int (*)(int)>("fdatasync");
  const int rc = real(fd);
  Delay();
  return rc;
}
