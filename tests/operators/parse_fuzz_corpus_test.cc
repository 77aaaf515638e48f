// Replays the parse_fuzzer corpus (tests/fuzz/corpus/parse/: seeds and
// every input the fuzzer kept, including the crashes it found, fixed since)
// through the fuzz target's own checks, in the ordinary GCC build: the CI's
// short fuzz run. The fuzzing proper (clang, libFuzzer, ASan+UBSan) is
// tests/fuzz/run.sh. A contract violation aborts the harness, so the binary
// fails.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/testing/test_paths.h"

// The target, its entry point renamed so that both targets can live in one
// test binary (each in its own translation unit).
#define LLVMFuzzerTestOneInput ParseFuzzerTestOneInput
#include "tests/fuzz/parse_fuzzer.cc"
#undef LLVMFuzzerTestOneInput

namespace epistream {
namespace {

TEST(ParseFuzzCorpusTest, EveryKeptInputPassesTheTargetsChecks) {
  const std::filesystem::path dir =
      std::filesystem::path(testing::SourceDirPath()) / "tests/fuzz/corpus/parse";
  size_t inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ParseFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++inputs;
  }
  EXPECT_GE(inputs, 150u) << dir;
}

}  // namespace
}  // namespace epistream
