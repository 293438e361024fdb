# Kernel tests and benchmark, included by addon/src/kernels/kernels.cmake when VIGIL_BUILD_TESTS
# is on. Plain ctest executables (no Node).
include_guard(GLOBAL)
enable_testing()
add_executable(vigil_kernels_test ${CMAKE_CURRENT_LIST_DIR}/kernels_test.cc)
target_link_libraries(vigil_kernels_test PRIVATE vigil_kernels)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(vigil_kernels_test PRIVATE -ffp-contract=off)
endif()
foreach(_vk_t exact large dispatch)
  add_test(NAME kernels_${_vk_t} COMMAND vigil_kernels_test ${_vk_t})
  # VIGIL_EXPECT_ISA / VIGIL_EXPECT_BEST pass through from the environment (qemu runs).
endforeach()
set_tests_properties(kernels_large PROPERTIES TIMEOUT 600)

if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/../bench/bench_gemm.cc)
  add_executable(vigil_bench_gemm ${CMAKE_CURRENT_LIST_DIR}/../bench/bench_gemm.cc)
  target_link_libraries(vigil_bench_gemm PRIVATE vigil_kernels)
endif()

# Symbol hygiene of the ISA objects (host nm; no emulator needed for cross builds).
if(CMAKE_NM)
  add_test(NAME kernels_symbols
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIB=$<TARGET_FILE:vigil_kernels>
                   -P ${CMAKE_CURRENT_LIST_DIR}/kernels_symbols.cmake)
endif()
