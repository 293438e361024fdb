# ctest script: the ISA kernel objects in libvigil_kernels.a may export nothing but their
# table_<isa>() getter. Any other global or weak (COMDAT) symbol could be merged by the linker
# into baseline code, which would then run AVX/dotprod instructions on a CPU without them.
#   cmake -DNM=<nm> -DLIB=<libvigil_kernels.a> -P kernels_symbols.cmake
execute_process(COMMAND ${NM} -C --defined-only ${LIB} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "kernels_symbols: ${NM} failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(member "")
set(isa_members 0)
set(bad "")
foreach(line IN LISTS lines)
  if(line MATCHES "^(.+\\.o(bj)?):$")
    set(member "${CMAKE_MATCH_1}")
    if(member MATCHES "__(avx2|avx512_vnni|avx_vnni|avx_vnni_evex|neon|neon_dot|sse41)\\.")
      math(EXPR isa_members "${isa_members} + 1")
    endif()
    continue()
  endif()
  if(NOT member MATCHES "__(avx2|avx512_vnni|avx_vnni|avx_vnni_evex|neon|neon_dot|sse41)\\.")
    continue()
  endif()
  # nm line: "<addr> <type> <name>"; upper-case types (and W/V/u) are global or weak
  if(line MATCHES "^[0-9a-fA-F]+ ([A-Za-z]) (.*)$")
    set(type "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    # DW.ref.__gxx_personality_v0 is data, not code: the pointer to the C++ personality routine
    # that objects with unwind tables share (ASan's stack-poisoning cleanups add them); merging it
    # can never run an ISA instruction.
    # Besides the getters: entry points named for their ISA file (e.g.
    # attention_u8s8__avx512_vnni(...), the table's own functions defined in a second file of
    # the same ISA): plain, non-inline functions no baseline code defines, so nothing to merge.
    if(type MATCHES "^[A-Zuvw]$"
       AND NOT name MATCHES "^vigil::kernels::table_[a-z0-9_]+\\(\\)$"
       AND NOT (type STREQUAL "T" AND name MATCHES "^vigil::kernels::[a-z0-9_]+__(avx2|avx512_vnni|avx_vnni|avx_vnni_evex|neon|neon_dot|sse41)\\(")
       AND NOT name STREQUAL "DW.ref.__gxx_personality_v0")
      list(APPEND bad "${member}: ${type} ${name}")
    endif()
  endif()
endforeach()
if(isa_members EQUAL 0)
  message(STATUS "kernels_symbols: no SIMD kernel objects in this build (scalar only)")
endif()
if(bad)
  string(REPLACE ";" "\n  " bad_text "${bad}")
  message(FATAL_ERROR "kernels_symbols: ISA objects export more than their table getter:\n  ${bad_text}")
endif()
message(STATUS "kernels_symbols: ${isa_members} ISA objects export only table_<isa>()")
