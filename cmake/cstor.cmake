# Helpers that give every folder the same shape: one library per folder with its
# dependencies declared, unit tests beside the code.

set(CSTOR_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
    -Woverloaded-virtual -Wimplicit-fallthrough)
if(CSTOR_WERROR)
  list(APPEND CSTOR_WARNINGS -Werror)
endif()

if(CSTOR_SANITIZE)
  set(CSTOR_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
  add_compile_options(${CSTOR_SANITIZER_FLAGS})
  add_link_options(${CSTOR_SANITIZER_FLAGS})
  add_compile_definitions(CSTOR_SANITIZED=1)
endif()

# ThreadSanitizer builds, for the parts that run threads (tests labelled tsan).
if(CSTOR_TSAN)
  # Asio orders its handler hand-offs with std::atomic_thread_fence, which ThreadSanitizer
  # does not model; GCC warns about every use (-Wtsan). The hand-offs also go through the
  # scheduler's mutex, which it does model.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(CSTOR_SANITIZED=1 CSTOR_TSAN=1)
endif()

# Fuzz builds: every library carries coverage counters and sanitizers, so that the fuzzers
# are guided by (and check) the code they drive, not only their own entry points.
if(CSTOR_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# cstor_library(NAME SOURCES a.cc b.cc DEPS x y)
function(cstor_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${CSTOR_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# cstor_test(NAME SOURCES a_test.cc DEPS lib [LABELS l])
function(cstor_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${CSTOR_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()
