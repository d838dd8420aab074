// GGUF v2/v3 parser over a read-only mapping. Layout (little-endian):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv | n_kv x (string key, u32 type, value)
//   | n_tensors x (string name, u32 n_dims, i64 ne[n_dims], u32 ggml type, u64 offset)
//   | padding to `general.alignment` | tensor data (offsets relative to here).
// Counts and lengths come from the file, so each is checked against the bytes that remain
// before anything is allocated from it; all size arithmetic is overflow-checked.
#include "gguf/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "gguf/byte_reader.h"
#include "quant/types.h"

namespace llmrt::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 16;  // nested arrays deeper than this are rejected (stack safety)

// Smallest encodings, used to bound counts by the remaining bytes before allocating.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;          // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims=0, type, offset
constexpr uint64_t kMinStringBytes = 8;
constexpr uint64_t kMinArrayBytes = 4 + 8;

// Bytes of one element of a fixed-size value type; 0 for STRING/ARRAY/unknown.
uint64_t scalar_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
        case ValueType::UINT16: case ValueType::INT16: return 2;
        case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
        case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
        default: return 0;
    }
}

bool is_valid_type(uint32_t t) { return t <= (uint32_t)ValueType::FLOAT64; }

const char* type_name(ValueType t) {
    static const char* names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                  "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
    return is_valid_type((uint32_t)t) ? names[(uint32_t)t] : "?";
}

bool is_valid_utf8(const std::string& s) {
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            unsigned char cc = (unsigned char)s[i + k];
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

// A name from the file, made safe for an error message: control bytes escaped (a NUL would cut
// the Python message short) and very long names shortened.
std::string quoted(const std::string& name) {
    static const char* hex = "0123456789abcdef";
    std::string out = "'";
    size_t n = std::min<size_t>(name.size(), 120);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)name[k];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += (char)c;
        }
    }
    if (n < name.size()) out += "...";
    return out + "'";
}

Value parse_value(ByteReader& r, ValueType type, int depth);

void parse_array(ByteReader& r, Value& v, int depth) {
    uint64_t start = r.pos();
    uint32_t et = r.read<uint32_t>("array element type");
    if (!is_valid_type(et)) r.fail_at("unknown array element type " + std::to_string(et), start);
    v.elem_type = (ValueType)et;
    v.count = r.read<uint64_t>("array length");
    uint64_t min_elem = scalar_size(v.elem_type);
    if (v.elem_type == ValueType::STRING) min_elem = kMinStringBytes;
    if (v.elem_type == ValueType::ARRAY) min_elem = kMinArrayBytes;
    if (v.count > r.remaining() / min_elem)
        r.fail_at("array of " + std::to_string(v.count) + " " + type_name(v.elem_type) +
                      " elements runs past the end of the file (" +
                      std::to_string(r.remaining()) + " bytes remain)",
                  start);
    if (v.elem_type == ValueType::ARRAY && depth + 1 > kMaxArrayDepth)
        r.fail_at("arrays nested deeper than " + std::to_string(kMaxArrayDepth), start);
    if (uint64_t es = scalar_size(v.elem_type)) {
        const uint8_t* p = r.take(v.count * es, "array data");
        v.raw.assign(p, p + v.count * es);
        if (v.elem_type == ValueType::BOOL)
            for (auto& b : v.raw) b = b != 0;  // NumPy bool arrays expect 0/1
        return;
    }
    v.items.reserve((size_t)v.count);
    for (uint64_t k = 0; k < v.count; k++) v.items.push_back(parse_value(r, v.elem_type, depth + 1));
}

Value parse_value(ByteReader& r, ValueType type, int depth) {
    Value v;
    v.type = type;
    switch (type) {
        case ValueType::UINT8: v.u = r.read<uint8_t>("UINT8 value"); break;
        case ValueType::UINT16: v.u = r.read<uint16_t>("UINT16 value"); break;
        case ValueType::UINT32: v.u = r.read<uint32_t>("UINT32 value"); break;
        case ValueType::UINT64: v.u = r.read<uint64_t>("UINT64 value"); break;
        case ValueType::BOOL: v.u = r.read<uint8_t>("BOOL value") != 0; break;
        case ValueType::INT8: v.i = r.read<int8_t>("INT8 value"); break;
        case ValueType::INT16: v.i = r.read<int16_t>("INT16 value"); break;
        case ValueType::INT32: v.i = r.read<int32_t>("INT32 value"); break;
        case ValueType::INT64: v.i = r.read<int64_t>("INT64 value"); break;
        case ValueType::FLOAT32: v.f = r.read<float>("FLOAT32 value"); break;
        case ValueType::FLOAT64: v.f = r.read<double>("FLOAT64 value"); break;
        case ValueType::STRING: v.str = r.read_string("string value"); break;
        case ValueType::ARRAY: parse_array(r, v, depth); break;
    }
    return v;
}

// general.alignment: any integer type holding a power of two (the spec writes UINT32).
uint64_t alignment_from(const Value& v, ByteReader& r) {
    int64_t a = 0;
    switch (v.type) {
        case ValueType::UINT8: case ValueType::UINT16: case ValueType::UINT32:
        case ValueType::UINT64:
            a = v.u > (uint64_t)INT64_MAX ? -1 : (int64_t)v.u; break;
        case ValueType::INT8: case ValueType::INT16: case ValueType::INT32: case ValueType::INT64:
            a = v.i; break;
        default:
            r.fail_file(std::string("general.alignment has type ") + type_name(v.type) +
                        ", expected an integer");
    }
    if (a <= 0 || (a & (a - 1)) != 0)
        r.fail_file("general.alignment = " + std::to_string(a) + " is not a power of two");
    return (uint64_t)a;
}

TensorInfo parse_tensor_info(ByteReader& r) {
    TensorInfo t;
    uint64_t start = r.pos();
    t.name = r.read_string("tensor name");
    if (!is_valid_utf8(t.name)) r.fail_at("tensor name is not valid UTF-8", start);
    uint32_t n_dims = r.read<uint32_t>("tensor n_dims");
    if (n_dims > (uint32_t)kMaxDims)
        r.fail_at("tensor " + quoted(t.name) + " has " + std::to_string(n_dims) +
                      " dimensions (at most 4 are supported)",
                  start);
    for (uint32_t d = 0; d < n_dims; d++) {
        int64_t ne = r.read<int64_t>("tensor dimension");
        // Zero-size dimensions are rejected too: an empty tensor is never a valid weight.
        if (ne <= 0)
            r.fail_at("tensor " + quoted(t.name) + " dimension " + std::to_string(d) + " is " +
                          std::to_string(ne) + " (must be positive)",
                      start);
        t.shape.push_back(ne);
    }
    t.type = r.read<uint32_t>("tensor type");
    if (!type_is_known(t.type))
        r.fail_at("tensor " + quoted(t.name) + " has unknown type id " + std::to_string(t.type), start);
    t.offset = r.read<uint64_t>("tensor offset");
    return t;
}

// Sizes the tensor and points it into the data section; fails on any inconsistency.
void place_tensor(TensorInfo& t, ByteReader& r, uint64_t data_offset, uint64_t alignment) {
    const std::string who = "tensor " + quoted(t.name);
    int64_t n = 1;
    for (int64_t ne : t.shape)
        if (__builtin_mul_overflow(n, ne, &n)) r.fail_file(who + ": element count overflows int64");
    const TypeTraits& tr = type_traits(t.type);
    int64_t ne0 = t.shape.empty() ? 1 : t.shape[0];
    if (ne0 % tr.block_size != 0)
        r.fail_file(who + ": row length " + std::to_string(ne0) + " is not a multiple of " +
                    tr.name + " block size " + std::to_string(tr.block_size));
    uint64_t n_blocks = (uint64_t)(n / tr.block_size);
    uint64_t nbytes;
    if (__builtin_mul_overflow(n_blocks, (uint64_t)tr.type_size, &nbytes))
        r.fail_file(who + ": byte size overflows");
    t.nbytes = nbytes;
    if (t.offset % alignment != 0)
        r.fail_file(who + ": data offset " + std::to_string(t.offset) +
                    " is not a multiple of the alignment " + std::to_string(alignment));
    uint64_t begin, end;
    if (__builtin_add_overflow(data_offset, t.offset, &begin) ||
        __builtin_add_overflow(begin, nbytes, &end) || end > r.size())
        r.fail_file(who + ": data (offset " + std::to_string(t.offset) + ", " +
                    std::to_string(nbytes) + " bytes) lies outside the file (data section at " +
                    std::to_string(data_offset) + ", file size " + std::to_string(r.size()) + ")");
    t.data = r.base() + begin;
}

}  // namespace

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t ne : shape) n *= ne;  // validated not to overflow at load
    return n;
}

void File::parse() {
    ByteReader r(base_, size_, path_);
    if (size_ < 4) r.fail_file("truncated file: " + std::to_string(size_) + " bytes, no GGUF header");
    uint32_t magic = r.read<uint32_t>("magic");
    if (magic != kMagic) r.fail_file("not a GGUF file (bad magic)");
    version_ = r.read<uint32_t>("version");
    if (version_ == 1) r.fail_file("GGUF version 1 is unsupported (only versions 2 and 3 are)");
    if (version_ != 2 && version_ != 3) {
        bool swapped = (version_ & 0xFFFF) == 0 && version_ != 0;
        r.fail_file("unsupported GGUF version " + std::to_string(version_) +
                    (swapped ? " (big-endian files are not supported)" : "") +
                    " (only versions 2 and 3 are)");
    }
    uint64_t n_tensors = r.read<uint64_t>("tensor count");
    uint64_t n_kv = r.read<uint64_t>("metadata count");
    if (n_kv > r.remaining() / kMinKvBytes)
        r.fail("metadata count " + std::to_string(n_kv) + " cannot fit in the file");
    if (n_tensors > r.remaining() / kMinTensorInfoBytes)
        r.fail("tensor count " + std::to_string(n_tensors) + " cannot fit in the file");

    metadata_.reserve((size_t)n_kv);
    for (uint64_t k = 0; k < n_kv; k++) {
        uint64_t start = r.pos();
        std::string key = r.read_string("metadata key");
        if (!is_valid_utf8(key)) r.fail_at("metadata key is not valid UTF-8", start);
        uint32_t type = r.read<uint32_t>("metadata value type");
        if (!is_valid_type(type))
            r.fail_at("metadata key " + quoted(key) + " has unknown value type " + std::to_string(type),
                      start);
        Value v = parse_value(r, (ValueType)type, 0);
        if (!value_index_.emplace(key, metadata_.size()).second)
            r.fail_at("duplicate metadata key " + quoted(key), start);
        metadata_.emplace_back(std::move(key), std::move(v));
    }
    if (const Value* a = find_value("general.alignment")) alignment_ = alignment_from(*a, r);
    else alignment_ = kDefaultAlignment;

    tensors_.reserve((size_t)n_tensors);
    for (uint64_t k = 0; k < n_tensors; k++) {
        uint64_t start = r.pos();
        TensorInfo t = parse_tensor_info(r);
        if (!tensor_index_.emplace(t.name, tensors_.size()).second)
            r.fail_at("duplicate tensor name " + quoted(t.name), start);
        tensors_.push_back(std::move(t));
    }

    uint64_t header_end = r.pos();
    if (__builtin_add_overflow(header_end, alignment_ - 1, &data_offset_))
        r.fail_file("data section offset overflows");
    data_offset_ &= ~(alignment_ - 1);
    for (TensorInfo& t : tensors_) place_tensor(t, r, data_offset_, alignment_);
}

const Value* File::find_value(const std::string& key) const {
    auto it = value_index_.find(key);
    return it == value_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* File::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::shared_ptr<File> File::open(const std::string& path) {
    std::shared_ptr<File> f(new File());
    f->path_ = path;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw GGUFError(path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = errno;
        ::close(fd);
        throw GGUFError(path + ": not a regular file" +
                        (err ? std::string(" (") + std::strerror(err) + ")" : ""));
    }
    f->size_ = (uint64_t)st.st_size;
    if (f->size_ > 0) {
        void* m = mmap(nullptr, (size_t)f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        int err = errno;
        ::close(fd);
        if (m == MAP_FAILED) throw GGUFError(path + ": mmap failed: " + std::strerror(err));
        f->mapping_ = m;
        f->base_ = static_cast<const uint8_t*>(m);
    } else {
        ::close(fd);
        f->base_ = reinterpret_cast<const uint8_t*>("");
    }
    f->parse();  // on failure `f` unmaps in its destructor
    return f;
}

void File::drop_pages(const uint8_t* p, size_t n) const {
    if (!mapping_ || p < base_ || n > size_ || p - base_ > (ptrdiff_t)(size_ - n)) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = ((uintptr_t)p + page - 1) / page * page, hi = ((uintptr_t)p + n) / page * page;
    // PROT_READ + MAP_PRIVATE, never written: dropped pages read back from the file unchanged.
    if (hi > lo) madvise((void*)lo, hi - lo, MADV_DONTNEED);
}

std::shared_ptr<File> File::from_bytes(const std::string& bytes, const std::string& name) {
    std::shared_ptr<File> f(new File());
    f->path_ = name;
    f->buffer_ = bytes;
    f->base_ = reinterpret_cast<const uint8_t*>(f->buffer_.data());
    f->size_ = f->buffer_.size();
    f->parse();
    return f;
}

File::~File() {
    if (mapping_) munmap(mapping_, (size_t)size_);
}

}  // namespace llmrt::gguf
