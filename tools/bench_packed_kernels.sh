#!/usr/bin/env bash
# Builds and runs tools/bench_packed_kernels.cpp (GMAC/s of the packed matmul kernels), each
# kernel file with the flags CMakeLists.txt gives it. Usage: tools/bench_packed_kernels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CXX=${CXX:-g++}
flags="-O3 -std=c++17 -Icsrc"
$CXX $flags -c tools/bench_packed_kernels.cpp -o "$out/main.o"
$CXX $flags -c csrc/runtime/cpu_features.cpp -o "$out/cpu.o"
$CXX $flags -mavx2 -mfma -mf16c -c csrc/quant/legacy_packed_avx2.cpp -o "$out/avx2.o"
$CXX $flags -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c \
    -c csrc/quant/legacy_packed_avx512.cpp -o "$out/avx512.o"
$CXX "$out"/*.o -o "$out/bench" -lpthread
"$out/bench"
