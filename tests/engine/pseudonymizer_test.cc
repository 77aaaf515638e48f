#include "engine/pseudonymizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/assert_ok.h"

namespace epistream {
namespace {

class PseudonymizerTest : public ::testing::Test {
 protected:
  static std::unique_ptr<Pseudonymizer> Make(std::string_view key) {
    auto p = Pseudonymizer::FromKey(key);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }
  static std::string Of(Pseudonymizer& p, std::string_view id) {
    std::string out;
    p.Pseudonymize(id, &out);
    return out;
  }
  std::string KeyFile(const std::string& content) {
    char path[] = "/tmp/epistream_pseudonym_key_XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    close(fd);
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
  }
  std::vector<std::string> files_;
};

// RFC 4231 test cases 1 (a key shorter than the block) and 6 (a key longer
// than the block, hashed first): the pseudonym is plain HMAC-SHA256 in hex.
TEST_F(PseudonymizerTest, MatchesRfc4231Vectors) {
  auto p1 = Make(std::string(20, '\x0b'));
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(Of(*p1, "Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  auto p6 = Make(std::string(131, '\xaa'));
  ASSERT_NE(p6, nullptr);
  EXPECT_EQ(Of(*p6, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_F(PseudonymizerTest, SameIdSamePseudonymDifferentKeyDifferent) {
  auto a = Make("key-A-0123456789abcdef");
  auto a2 = Make("key-A-0123456789abcdef");
  auto b = Make("key-B-0123456789abcdef");
  const std::string pa = Of(*a, "P1234");
  EXPECT_EQ(pa.size(), Pseudonymizer::kPseudonymChars);
  EXPECT_EQ(Of(*a, "P1234"), pa);   // repeatable on one object
  EXPECT_EQ(Of(*a2, "P1234"), pa);  // and across objects (restarts)
  EXPECT_NE(Of(*b, "P1234"), pa);
  EXPECT_NE(Of(*a, "P1235"), pa);
  EXPECT_EQ(pa.find("P1234"), std::string::npos);
}

TEST_F(PseudonymizerTest, ApplyInPlace) {
  auto p = Make("0123456789abcdef");
  std::string id = "P42";
  const std::string expected = Of(*p, "P42");
  p->Apply(&id);
  EXPECT_EQ(id, expected);
}

TEST_F(PseudonymizerTest, KeyFileDropsOneTrailingNewline) {
  const std::string key = "00112233445566778899aabbccddeeff";
  auto direct = Make(key);
  for (const std::string& content : {key, key + "\n", key + "\r\n"}) {
    auto p = Pseudonymizer::FromKeyFile(KeyFile(content));
    ASSERT_OK(p.status());
    EXPECT_EQ(Of(**p, "P7"), Of(*direct, "P7"));
  }
}

TEST_F(PseudonymizerTest, ShortMissingOrUnsetKeyIsAnErrorThatDoesNotPrintTheKey) {
  const std::string path = KeyFile("short-secret\n");
  auto short_key = Pseudonymizer::FromKeyFile(path);
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_key.status().message().find(path), std::string::npos);
  EXPECT_EQ(short_key.status().message().find("short-secret"), std::string::npos);
  auto missing = Pseudonymizer::FromKeyFile("/nonexistent/pseudonym.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_FALSE(Pseudonymizer::FromKeyFile("").ok());
}

}  // namespace
}  // namespace epistream
