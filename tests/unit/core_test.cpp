// core/: the one hash. Its values are written into .sum files, so they must be XXH3-64's own.
#include <gtest/gtest.h>

#include <string>

#include "core/hash.h"

namespace dunet {
namespace {

TEST(Hash64, IsXxh3Of64Bits) {
  // The value the xxHash specification's reference implementation gives for no input.
  EXPECT_EQ(hash64(nullptr, 0), 0x2D06800538D394C2ULL);
  EXPECT_EQ(Hash64().digest(), 0x2D06800538D394C2ULL);
}

TEST(Hash64, PiecesEqualTheWhole) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += static_cast<char>('a' + i * 7 % 26);
  for (const size_t cut : {size_t{0}, size_t{1}, size_t{240}, size_t{4999}, text.size()}) {
    Hash64 pieces;
    pieces.update(text.data(), cut).update(text.data() + cut, text.size() - cut);
    EXPECT_EQ(pieces.digest(), hash64(text)) << "cut at " << cut;
  }
  EXPECT_NE(hash64(text), hash64(text.substr(1)));
}

}  // namespace
}  // namespace dunet
