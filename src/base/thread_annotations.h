// Clang thread-safety annotations. They document locking contracts in every build and
// are checked when the code is compiled with clang -Wthread-safety.
#pragma once

#if defined(__clang__)
#define CSTOR_TSA(x) __attribute__((x))
#else
#define CSTOR_TSA(x)
#endif

#define CAPABILITY(x) CSTOR_TSA(capability(x))
#define SCOPED_CAPABILITY CSTOR_TSA(scoped_lockable)
#define GUARDED_BY(x) CSTOR_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) CSTOR_TSA(pt_guarded_by(x))
#define REQUIRES(...) CSTOR_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) CSTOR_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) CSTOR_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) CSTOR_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) CSTOR_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) CSTOR_TSA(release_shared_capability(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) CSTOR_TSA(acquired_before(__VA_ARGS__))
#define EXCLUDES(...) CSTOR_TSA(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS CSTOR_TSA(no_thread_safety_analysis)
