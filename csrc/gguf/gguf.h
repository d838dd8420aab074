// Memory-mapped GGUF reader (versions 2 and 3). Everything is validated against the mapping's
// bounds while parsing; any problem throws GGUFError naming the file and what is wrong.
// After construction, tensor data pointers stay valid for the life of the File.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace llmrt::gguf {

class GGUFError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class ValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

// One metadata value. Scalars use the matching field; arrays keep their element type and either
// `items` (strings and nested arrays) or `raw` (numeric/bool elements, little-endian packed).
struct Value {
    ValueType type = ValueType::UINT8;
    uint64_t u = 0;       // unsigned integers and bool
    int64_t i = 0;        // signed integers
    double f = 0.0;       // floats
    std::string str;      // STRING
    ValueType elem_type = ValueType::UINT8;  // ARRAY
    uint64_t count = 0;                      // ARRAY: number of elements
    std::vector<Value> items;                // ARRAY of STRING or ARRAY
    std::vector<uint8_t> raw;                // ARRAY of numbers/bools: count * element size bytes
};

struct TensorInfo {
    std::string name;
    uint32_t type = 0;             // ggml type id (quant/types.h)
    std::vector<int64_t> shape;    // ne[0] first: ne[0] is the contiguous row length
    uint64_t offset = 0;           // from the start of the data section
    uint64_t nbytes = 0;
    const uint8_t* data = nullptr; // inside the mapping
    int64_t n_elements() const;
};

class File {
public:
    // Maps and parses a file. Throws GGUFError.
    static std::shared_ptr<File> open(const std::string& path);
    // Parses a private copy of an in-memory image (fuzz tests); `name` is used in messages.
    static std::shared_ptr<File> from_bytes(const std::string& bytes, const std::string& name = "<bytes>");
    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return size_; }
    const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const Value* find_value(const std::string& key) const;          // nullptr when absent
    const TensorInfo* find_tensor(const std::string& name) const;   // nullptr when absent
    // Hand the whole pages of [p, p + n) back to the page cache (a mapped file only; no effect on
    // a from_bytes copy). The bytes stay readable: a later read faults them in again. For tensors
    // whose packed copy replaced them (quant/packed.h), so they do not count twice in RSS.
    void drop_pages(const uint8_t* p, size_t n) const;

private:
    File() = default;
    void parse();

    std::string path_;
    const uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    void* mapping_ = nullptr;   // mmap'ed region (nullptr when owning `buffer_`)
    std::string buffer_;        // from_bytes copy
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string, Value>> metadata_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> value_index_;   // key -> index in metadata_
    std::unordered_map<std::string, size_t> tensor_index_;  // name -> index in tensors_
};

}  // namespace llmrt::gguf
