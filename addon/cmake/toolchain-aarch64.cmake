# Cross toolchain: Linux aarch64 (Raspberry Pi 4/5 64-bit, Jetson) with Debian's
# g++-aarch64-linux-gnu. Baseline armv8-a only: the dotprod kernel file gets
# -march=armv8.2-a+dotprod by itself (kernels.cmake) and is reached only via runtime dispatch.
#   cmake -S addon -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=addon/cmake/toolchain-aarch64.cmake
#   npx cmake-js compile --arch arm64 -O build-arm64 --CDCMAKE_TOOLCHAIN_FILE=$PWD/addon/cmake/toolchain-aarch64.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(VIGIL_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${VIGIL_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${VIGIL_CROSS_TRIPLE}-g++)
set(CMAKE_C_FLAGS_INIT "-march=armv8-a")
set(CMAKE_CXX_FLAGS_INIT "-march=armv8-a")
set(CMAKE_FIND_ROOT_PATH /usr/${VIGIL_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
