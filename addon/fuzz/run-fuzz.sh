#!/usr/bin/env bash
# Builds the GGUF loader fuzzer (clang, libFuzzer + ASan + UBSan) and runs it for a bounded time.
#   addon/fuzz/run-fuzz.sh [seconds=60]
# Seeds: tiny valid fp32/q8/spectral models from engine_make_fixtures. New corpus entries stay
# in build/fuzz/corpus (reused by later runs); a crash leaves crash-* there and exits non-zero.
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/build/fuzz"
if ! command -v clang++ >/dev/null; then
  echo "run-fuzz: clang++ not found: sudo apt-get install -y clang libclang-rt-14-dev" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S "$root/addon" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVIGIL_FUZZ=ON -DVIGIL_BUILD_TESTS=ON >/dev/null
cmake --build "$out" -j2 --target fuzz_gguf_loader engine_make_fixtures
mkdir -p "$out/corpus" "$out/seeds"
"$out/test/engine_make_fixtures" "$out/seeds"
cd "$out"
./fuzz/fuzz_gguf_loader corpus seeds -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2560 \
  -timeout=10 -print_final_stats=1
