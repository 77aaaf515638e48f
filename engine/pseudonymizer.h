// Pseudonymizer: replaces an identifier with a keyed pseudonym,
// HMAC-SHA256(key, id) as 64 lowercase hex characters (config/PRIVACY.md).
//
// The same key gives the same pseudonym for the same id, so joins, windows
// and dedupe work unchanged on pseudonyms; without the key a pseudonym cannot
// be linked back to its id (nor checked against a guessed id). A different
// key gives unrelated pseudonyms.
//
// Lifecycle: create once at start-up (FromKeyFile); the key stays in memory
// for the object's life and is wiped on destruction.
// Threading: not thread-safe (it reuses hashing contexts); one per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace epistream {

class Pseudonymizer {
 public:
  // Shortest key accepted, in bytes (128 bits).
  static constexpr size_t kMinKeyBytes = 16;
  // Length of every pseudonym.
  static constexpr size_t kPseudonymChars = 64;

  // The key is the file's bytes, one trailing "\n" or "\r\n" removed (so
  // `openssl rand -hex 32 > key` works). Errors: unreadable file (IoError),
  // key shorter than kMinKeyBytes (InvalidArgument); messages name the path,
  // never the key.
  static Result<std::unique_ptr<Pseudonymizer>> FromKeyFile(const std::string& path);
  // Uses `key` as is; InvalidArgument if shorter than kMinKeyBytes.
  static Result<std::unique_ptr<Pseudonymizer>> FromKey(std::string_view key);

  ~Pseudonymizer();
  Pseudonymizer(const Pseudonymizer&) = delete;
  Pseudonymizer& operator=(const Pseudonymizer&) = delete;

  // Writes the pseudonym of `id` to *out (replacing its content). `id` may
  // alias *out.
  void Pseudonymize(std::string_view id, std::string* out);
  // Replaces *id with its pseudonym in place.
  void Apply(std::string* id) { Pseudonymize(*id, id); }

 private:
  struct Impl;
  explicit Pseudonymizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace epistream
