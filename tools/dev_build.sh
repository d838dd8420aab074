#!/usr/bin/env bash
# Incremental developer build: compiles llmrt._core and llmrt._core_testing into build/dev and links them into
# python/llmrt/, so `PYTHONPATH=python pytest` runs against the working tree without pip.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build/dev}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" >/dev/null
fi
ninja -C "$BUILD" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" | grep -v '^\[' || true
shopt -s nullglob
for so in "$BUILD"/_core*.so; do   # _core and _core_testing
  ln -sf "$(pwd)/$so" python/llmrt/
  echo "built $so"
done
