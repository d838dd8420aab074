// Bounds-checked little-endian cursor over an in-memory GGUF image. Every read checks the
// remaining length first, so a corrupt file can never make us read outside the mapping.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "gguf/gguf.h"

namespace llmrt::gguf {

class ByteReader {
public:
    ByteReader(const uint8_t* base, uint64_t size, const std::string& name)
        : base_(base), size_(size), name_(name) {}

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }
    const uint8_t* base() const { return base_; }
    uint64_t size() const { return size_; }

    // Throws GGUFError "<file>: <msg> (at byte N)".
    [[noreturn]] void fail(const std::string& msg) const { fail_at(msg, pos_); }
    [[noreturn]] void fail_at(const std::string& msg, uint64_t at) const {
        throw GGUFError(name_ + ": " + msg + " (at byte " + std::to_string(at) + ")");
    }
    // Throws without a byte position (whole-file problems).
    [[noreturn]] void fail_file(const std::string& msg) const { throw GGUFError(name_ + ": " + msg); }

    // Ensures n more bytes exist; `what` names the field for the message.
    void need(uint64_t n, const char* what) const {
        if (n > remaining())
            fail(std::string("truncated file: ") + what + " needs " + std::to_string(n) +
                 " bytes but only " + std::to_string(remaining()) + " remain");
    }

    template <class T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    // Returns a pointer to the next n bytes and advances past them.
    const uint8_t* take(uint64_t n, const char* what) {
        need(n, what);
        const uint8_t* p = base_ + pos_;
        pos_ += n;
        return p;
    }

    // GGUF string: uint64 length, then that many bytes (no terminator).
    std::string read_string(const char* what) {
        uint64_t start = pos_;
        uint64_t len = read<uint64_t>(what);
        if (len > remaining())
            fail_at(std::string(what) + " declares length " + std::to_string(len) +
                        ", past the end of the file (" + std::to_string(remaining()) +
                        " bytes remain)",
                    start);
        const uint8_t* p = take(len, what);
        return std::string(reinterpret_cast<const char*>(p), (size_t)len);
    }

private:
    const uint8_t* base_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& name_;
};

}  // namespace llmrt::gguf
