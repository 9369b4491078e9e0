# Sanitizer variants of libraries and tests, built in the same tree as the
# normal ones so one `ctest` run covers them (labels asan and tsan).
#
#   heapwatch_sanitize(<target> asan|tsan)
#
# compiles <target> with the sanitizer and makes everything that links it
# link the sanitizer runtime too.

set(HEAPWATCH_ASAN_OPTIONS
  -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
set(HEAPWATCH_TSAN_OPTIONS -fsanitize=thread -fno-omit-frame-pointer)

function(heapwatch_sanitize target kind)
  if(kind STREQUAL "asan")
    set(opts ${HEAPWATCH_ASAN_OPTIONS})
  elseif(kind STREQUAL "tsan")
    set(opts ${HEAPWATCH_TSAN_OPTIONS})
  else()
    message(FATAL_ERROR "heapwatch_sanitize: unknown sanitizer '${kind}' (asan or tsan)")
  endif()
  target_compile_options(${target} PRIVATE ${opts})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY" OR type STREQUAL "OBJECT_LIBRARY")
    target_link_options(${target} INTERFACE ${opts})
  else()
    target_link_options(${target} PRIVATE ${opts})
  endif()
endfunction()
