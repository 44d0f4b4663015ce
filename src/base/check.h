// Assertions for programmer errors. CSTOR_CHECK stays on in every build: it guards
// invariants whose violation would corrupt stored data, where stopping is the only safe
// answer. Use assert() for cheap-to-lose debug checks.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CSTOR_CHECK(cond)                                                          \
  do {                                                                             \
    if (!(cond)) [[unlikely]] {                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

#define CSTOR_CHECK_OK(expr)                                                      \
  do {                                                                            \
    ::cstor::Status cstor_check_status_ = (expr);                                 \
    if (!cstor_check_status_.ok()) [[unlikely]] {                                 \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,   \
                   cstor_check_status_.ToString().c_str());                       \
      std::abort();                                                               \
    }                                                                             \
  } while (0)
