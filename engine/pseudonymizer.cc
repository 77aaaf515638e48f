#include "engine/pseudonymizer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace epistream {
namespace {

constexpr size_t kBlockBytes = 64;  // SHA-256 block
constexpr size_t kDigestBytes = 32;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

}  // namespace

// HMAC (RFC 2104) over SHA-256 by hand: the inner and outer contexts are
// keyed once (key XOR ipad / opad absorbed), and each call copies them, so a
// pseudonym costs two short SHA-256 finishes and no allocation or algorithm
// lookup (OpenSSL's one-shot HMAC() fetches the digest every call).
struct Pseudonymizer::Impl {
  MdCtx inner_keyed{EVP_MD_CTX_new()};
  MdCtx outer_keyed{EVP_MD_CTX_new()};
  MdCtx work{EVP_MD_CTX_new()};

  bool Init(std::string_view key) {
    if (!inner_keyed || !outer_keyed || !work) return false;
    std::array<unsigned char, kBlockBytes> block{};
    if (key.size() > kBlockBytes) {
      unsigned int n = 0;
      if (EVP_Digest(key.data(), key.size(), block.data(), &n, EVP_sha256(), nullptr) != 1) {
        return false;
      }
    } else {
      std::memcpy(block.data(), key.data(), key.size());
    }
    std::array<unsigned char, kBlockBytes> pad;
    for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ 0x36;
    bool ok = EVP_DigestInit_ex(inner_keyed.get(), EVP_sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(inner_keyed.get(), pad.data(), pad.size()) == 1;
    for (size_t i = 0; i < kBlockBytes; ++i) pad[i] = block[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer_keyed.get(), EVP_sha256(), nullptr) == 1 &&
         EVP_DigestUpdate(outer_keyed.get(), pad.data(), pad.size()) == 1;
    OPENSSL_cleanse(block.data(), block.size());
    OPENSSL_cleanse(pad.data(), pad.size());
    return ok;
  }
};

Pseudonymizer::Pseudonymizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pseudonymizer::~Pseudonymizer() = default;

Result<std::unique_ptr<Pseudonymizer>> Pseudonymizer::FromKey(std::string_view key) {
  if (key.size() < kMinKeyBytes) {
    return Status::InvalidArgument("pseudonymization key too short: " + std::to_string(key.size()) +
                                   " bytes, need at least " + std::to_string(kMinKeyBytes));
  }
  auto impl = std::make_unique<Impl>();
  if (!impl->Init(key)) return Status::Internal("pseudonymization: OpenSSL SHA-256 unavailable");
  return std::unique_ptr<Pseudonymizer>(new Pseudonymizer(std::move(impl)));
}

Result<std::unique_ptr<Pseudonymizer>> Pseudonymizer::FromKeyFile(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("pseudonymization key file not set");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IoError("cannot open pseudonymization key file " + path + ": " +
                           std::strerror(errno));
  }
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IoError("cannot read pseudonymization key file " + path);
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (!key.empty() && key.back() == '\r') key.pop_back();
  auto p = FromKey(key);
  OPENSSL_cleanse(key.data(), key.size());
  if (!p.ok()) return Status::InvalidArgument(path + ": " + p.status().message());
  return p;
}

void Pseudonymizer::Pseudonymize(std::string_view id, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char digest[kDigestBytes];
  unsigned int n = 0;
  EVP_MD_CTX* w = impl_->work.get();
  // The calls below cannot fail on a keyed SHA-256 context short of memory
  // corruption; a failure would leave a wrong pseudonym, so it aborts.
  const bool ok = EVP_MD_CTX_copy_ex(w, impl_->inner_keyed.get()) == 1 &&
                  EVP_DigestUpdate(w, id.data(), id.size()) == 1 &&
                  EVP_DigestFinal_ex(w, digest, &n) == 1 &&
                  EVP_MD_CTX_copy_ex(w, impl_->outer_keyed.get()) == 1 &&
                  EVP_DigestUpdate(w, digest, n) == 1 && EVP_DigestFinal_ex(w, digest, &n) == 1;
  if (!ok || n != kDigestBytes) std::abort();
  out->resize(kPseudonymChars);
  for (size_t i = 0; i < kDigestBytes; ++i) {
    (*out)[2 * i] = kHex[digest[i] >> 4];
    (*out)[2 * i + 1] = kHex[digest[i] & 0xf];
  }
}

}  // namespace epistream
