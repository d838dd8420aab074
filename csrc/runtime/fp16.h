// Half and bfloat16 <-> float conversion, bit-exact with IEEE 754 binary16 (round to nearest even).
// Functions are `static inline` on purpose: this header is included from files compiled with
// -mavx2, and a non-static inline function could be merged by the linker with its AVX2-compiled
// copy and then run on a CPU without AVX2.
#pragma once
#include <cstdint>
#include <cstring>

namespace llmrt {

static inline float bits_to_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t float_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

static inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        if (mant == 0) return bits_to_float(sign);
        // subnormal: normalise
        int e = -1;
        do { mant <<= 1; ++e; } while ((mant & 0x400) == 0);
        mant &= 0x3ff;
        return bits_to_float(sign | (uint32_t)(127 - 15 - e) << 23 | mant << 13);
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | mant << 13);
    return bits_to_float(sign | (exp + 127 - 15) << 23 | mant << 13);
}

static inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = float_to_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0);  // inf / nan
    if (ax >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520: overflow to inf
    if (ax < 0x38800000u) {
        // result is subnormal (or zero): shift mantissa with round-to-nearest-even
        if (ax < 0x33000000u) return sign;  // < 2^-25 rounds to 0
        const uint32_t e = ax >> 23;
        const uint32_t m = (ax & 0x7fffff) | 0x800000;
        const uint32_t shift = 126 - e;  // 14 - (e - 127) + 13 - 1 ... yields mantissa for 2^-24 units
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) ++r;
        return sign | (uint16_t)r;
    }
    uint32_t r = ((ax >> 13) - ((127 - 15) << 10));
    const uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) ++r;
    return sign | (uint16_t)r;
}

static inline float bf16_to_fp32(uint16_t h) { return bits_to_float((uint32_t)h << 16); }

static inline uint16_t fp32_to_bf16(float f) {
    uint32_t x = float_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64);  // quiet nan
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

}  // namespace llmrt
