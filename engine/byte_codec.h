// Compact binary encoding primitives for state records and keys:
// LEB128 varints, zig-zag signed varints, length-prefixed strings, and
// big-endian fixed integers (which sort bytewise like the numbers, for keys).
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace epistream {

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void SignedVarint(int64_t v) { Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Str(std::string_view s) {
    Varint(s.size());
    out_->append(s);
  }
  void Double(double v) {
    uint64_t bits;
    static_assert(sizeof bits == sizeof v);
    __builtin_memcpy(&bits, &v, sizeof v);
    BigEndian64(bits);
  }
  void BigEndian64(uint64_t v) {
    for (int i = 7; i >= 0; --i) out_->push_back(static_cast<char>(v >> (i * 8)));
  }
  void BigEndian32(uint32_t v) {
    for (int i = 3; i >= 0; --i) out_->push_back(static_cast<char>(v >> (i * 8)));
  }
  void BigEndian16(uint16_t v) {
    out_->push_back(static_cast<char>(v >> 8));
    out_->push_back(static_cast<char>(v));
  }
  // Signed time that sorts bytewise: flip the sign bit.
  void OrderedI64(int64_t v) { BigEndian64(static_cast<uint64_t>(v) ^ (1ull << 63)); }

 private:
  std::string* out_;
};

// Reads what ByteWriter wrote. Every read checks bounds; after any failure
// ok() is false and further reads return zero values, so a decoder can read a
// whole record and check ok() once (corrupt state never reads out of bounds).
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  uint8_t U8() {
    if (pos_ >= in_.size()) return Fail();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail();
  }
  int64_t SignedVarint() {
    const uint64_t u = Varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string_view Str() {
    const uint64_t n = Varint();
    if (!ok_ || n > in_.size() - pos_) {
      Fail();
      return {};
    }
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  double Double() {
    const uint64_t bits = BigEndian64();
    double v;
    __builtin_memcpy(&v, &bits, sizeof v);
    return v;
  }
  uint64_t BigEndian64() {
    // One load and a byte swap, not the 8-step loop: a person state holds
    // ~7 seen-event hashes and is decoded on nearly every event.
    if constexpr (std::endian::native == std::endian::little) {
      if (in_.size() - pos_ < 8) return Fail();
      uint64_t v;
      __builtin_memcpy(&v, in_.data() + pos_, 8);
      pos_ += 8;
      return __builtin_bswap64(v);
    } else {
      return Fixed(8);
    }
  }
  uint32_t BigEndian32() { return static_cast<uint32_t>(Fixed(4)); }
  uint16_t BigEndian16() { return static_cast<uint16_t>(Fixed(2)); }
  int64_t OrderedI64() { return static_cast<int64_t>(BigEndian64() ^ (1ull << 63)); }
  std::string_view Rest() {
    std::string_view s = in_.substr(pos_);
    pos_ = in_.size();
    return s;
  }

 private:
  uint64_t Fixed(int n) {
    if (in_.size() - pos_ < static_cast<size_t>(n)) return Fail();
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    return v;
  }
  uint64_t Fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace epistream
