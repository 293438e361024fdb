# Cross toolchain: Linux armv7 hard-float (32-bit Raspberry Pi OS) with Debian's
# g++-arm-linux-gnueabihf. Debian's armhf compiler has no NEON by default, so the baseline is
# armv7-a + NEON/VFPv4 (every Pi from the Pi 2 on); the kernels still check HWCAP_NEON.
#   cmake -S addon -B build/armhf -DCMAKE_TOOLCHAIN_FILE=addon/cmake/toolchain-armhf.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(VIGIL_CROSS_TRIPLE arm-linux-gnueabihf)
set(CMAKE_C_COMPILER ${VIGIL_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${VIGIL_CROSS_TRIPLE}-g++)
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_FIND_ROOT_PATH /usr/${VIGIL_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
