// core/: the one hash (its values are written into .sum files, so they must be XXH3-64's own)
// and the progress bar's time left.
#include <gtest/gtest.h>

#include <string>

#include "core/hash.h"
#include "core/progress.h"

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

TEST(ProgressEta, IsTheMeanRateSoFarAppliedToWhatIsLeft) {
  // 10 of 100 in 20 s: 2 s each, 90 left = 180 s.
  EXPECT_EQ(format_eta(20.0, 10, 100), "ETA 3:00");
  EXPECT_EQ(format_eta(1.0, 1, 60), "ETA 0:59");
  EXPECT_EQ(format_eta(3600.0, 1, 3), "ETA 2:00:00");
  EXPECT_EQ(format_eta(7.5, 3, 4), "ETA 0:03");  // 2.5 s rounds to 3 (half away from zero)
  EXPECT_EQ(format_eta(50.0, 5, 5), "ETA 0:00");
  EXPECT_EQ(format_eta(50.0, 7, 5), "ETA 0:00");  // past the total: nothing left
}

TEST(ProgressEta, IsBlankWithoutARate) {
  EXPECT_EQ(format_eta(30.0, 0, 100), "");
  EXPECT_EQ(format_eta(0.5, 3, 100), "");
}

}  // namespace
}  // namespace dunet
