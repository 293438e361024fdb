# vigil_kernels: the int8 GEMM kernels, one file per ISA, plus CPU dispatch.
#
# include(${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/kernels.cmake) from addon/CMakeLists.txt, then
# target_link_libraries(<engine> PRIVATE vigil_kernels).
#
# Rules (docs/kernels.md, /work/shared toolchain notes):
# - The baseline stays generic (x86-64, armv8-a, armv7-a+neon): never -march=native, never
#   dotprod/AVX flags on the whole target. Each SIMD file gets ONLY its own flags through
#   set_source_files_properties and is reached only through runtime dispatch.
# - Every kernel file is compiled with -ffp-contract=off so the float epilogue is bit-exact.
# - VIGIL_KERNELS_ISAS (cache, optional) restricts the SIMD ISAs compiled in, e.g. "avx2".
include_guard(GLOBAL)
include(CheckCXXCompilerFlag)

set(_vk_dir ${CMAKE_CURRENT_LIST_DIR})
set(VIGIL_KERNELS_ISAS "" CACHE STRING
    "SIMD kernel ISAs to compile (empty = all the target architecture supports)")

add_library(vigil_kernels STATIC
  ${_vk_dir}/dispatch.cc
  ${_vk_dir}/epilogue.cc
  ${_vk_dir}/gemm_s8s8__scalar.cc)
set_target_properties(vigil_kernels PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_features(vigil_kernels PUBLIC cxx_std_17)
target_include_directories(vigil_kernels PUBLIC ${_vk_dir}/..)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(vigil_kernels PRIVATE -ffp-contract=off -Wall -Wextra)
endif()

set(VIGIL_KERNELS_COMPILED scalar)

# vigil_kernels_isa(<name> <source> <flags...>): adds one ISA file with only its own flags,
# if the compiler accepts the flags and the ISA is not filtered out by VIGIL_KERNELS_ISAS.
function(vigil_kernels_isa name source)
  set(flags ${ARGN})
  set(filter_name ${name})
  if(name STREQUAL "avx_vnni_evex")  # the EVEX build of avx_vnni follows avx_vnni
    set(filter_name avx_vnni)
  endif()
  if(VIGIL_KERNELS_ISAS AND NOT filter_name IN_LIST VIGIL_KERNELS_ISAS)
    return()
  endif()
  if(flags)
    string(REPLACE ";" " " flag_str "${flags}")
    string(MAKE_C_IDENTIFIER "VIGIL_CXX_FLAG_${name}" check_var)
    check_cxx_compiler_flag("${flag_str}" ${check_var})
    if(NOT ${check_var})
      message(STATUS "vigil_kernels: ${name} skipped (compiler rejects ${flag_str})")
      return()
    endif()
    set_source_files_properties(${_vk_dir}/${source} PROPERTIES COMPILE_OPTIONS "${flags}")
  endif()
  target_sources(vigil_kernels PRIVATE ${_vk_dir}/${source})
  string(TOUPPER ${name} upper)
  set_property(SOURCE ${_vk_dir}/dispatch.cc APPEND PROPERTY COMPILE_DEFINITIONS
               VIGIL_KERNELS_HAVE_${upper}=1)
  set(VIGIL_KERNELS_COMPILED ${VIGIL_KERNELS_COMPILED} ${name} PARENT_SCOPE)
endfunction()

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _vk_proc)
if(_vk_proc MATCHES "^(x86_64|amd64|x64)$")
  vigil_kernels_isa(sse41 gemm_s8s8_s32_4x8c2__sse41.cc -msse4.1)
  vigil_kernels_isa(avx2 gemm_s8s8_s32_4x16c2__avx2.cc -mavx2)
  if(avx2 IN_LIST VIGIL_KERNELS_COMPILED)  # the same table's fused int8 attention
    set_source_files_properties(${_vk_dir}/attention_s16__avx2.cc PROPERTIES COMPILE_OPTIONS "-mavx2")
    target_sources(vigil_kernels PRIVATE ${_vk_dir}/attention_s16__avx2.cc)
  endif()
  # 256-bit VNNI, one source in two encodings (the file's header comment): VEX for AVX-VNNI
  # CPUs, EVEX for AVX-512 VNNI ones (where the tests and benchmarks run it).
  vigil_kernels_isa(avx_vnni gemm_s8s8_s32_4x16c4__avx_vnni.cc -mavx2 -mavxvnni)
  vigil_kernels_isa(avx_vnni_evex gemm_s8s8_s32_4x16c4__avx_vnni_evex.cc -mavx2 -mavx512vl -mavx512vnni)
  if(avx_vnni IN_LIST VIGIL_KERNELS_COMPILED)  # the same table's fused int8 attention
    set_source_files_properties(${_vk_dir}/attention_u8s8__avx_vnni.cc PROPERTIES
                                COMPILE_OPTIONS "-mavx2;-mavxvnni")
    target_sources(vigil_kernels PRIVATE ${_vk_dir}/attention_u8s8__avx_vnni.cc)
  endif()
  if(avx_vnni_evex IN_LIST VIGIL_KERNELS_COMPILED)
    set_source_files_properties(${_vk_dir}/attention_u8s8__avx_vnni_evex.cc PROPERTIES
                                COMPILE_OPTIONS "-mavx2;-mavx512vl;-mavx512vnni")
    target_sources(vigil_kernels PRIVATE ${_vk_dir}/attention_u8s8__avx_vnni_evex.cc)
  endif()
  vigil_kernels_isa(avx512_vnni gemm_s8s8_s32_6x64c4__avx512_vnni.cc
                    -mavx512f -mavx512bw -mavx512vl -mavx512vnni)
  if(avx512_vnni IN_LIST VIGIL_KERNELS_COMPILED)  # the same table's fused int8 attention
    set_source_files_properties(${_vk_dir}/attention_u8s8__avx512_vnni.cc PROPERTIES
                                COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni")
    target_sources(vigil_kernels PRIVATE ${_vk_dir}/attention_u8s8__avx512_vnni.cc)
  endif()
elseif(_vk_proc MATCHES "^(aarch64|arm64)$")
  vigil_kernels_isa(neon gemm_s8s8_s32_4x4c16__neon.cc)  # Advanced SIMD is armv8-a baseline
  vigil_kernels_isa(neon_dot gemm_s8s8_s32_4x16c4__neon_dot.cc -march=armv8.2-a+dotprod)
  if(neon_dot IN_LIST VIGIL_KERNELS_COMPILED)  # the same table's fused int8 attention
    set_source_files_properties(${_vk_dir}/attention_u8u8__neon_dot.cc PROPERTIES
                                COMPILE_OPTIONS "-march=armv8.2-a+dotprod")
    target_sources(vigil_kernels PRIVATE ${_vk_dir}/attention_u8u8__neon_dot.cc)
  endif()
elseif(_vk_proc MATCHES "^arm")
  # armv7: the same neon kernel (2x4 tile); NEON is checked at run time (HWCAP_NEON).
  vigil_kernels_isa(neon gemm_s8s8_s32_4x4c16__neon.cc -mfpu=neon-vfpv4)
endif()

message(STATUS "vigil_kernels: ${CMAKE_SYSTEM_PROCESSOR}: ${VIGIL_KERNELS_COMPILED}")

# Sanitizers and fuzzing flags come from addon/CMakeLists.txt (VIGIL_SANITIZE, VIGIL_FUZZ).

if(VIGIL_BUILD_TESTS AND EXISTS ${_vk_dir}/../../test/kernels_tests.cmake)
  include(${_vk_dir}/../../test/kernels_tests.cmake)
endif()
