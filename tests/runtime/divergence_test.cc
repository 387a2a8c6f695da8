// The divergence rule of tte train (docs/training.md): a window of the last min(32, run) losses against
// K x max(ln C, the first loss).
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/trainer.h"

namespace tte {
namespace {

TEST(DivergenceWatch, FiresWhenTheWindowMeanPassesKTimesTheStart) {
  DivergenceWatch w(10, 10.0, 1000);
  EXPECT_EQ(w.window(), 32);
  EXPECT_FALSE(w.Add(1.0));  // the first loss, 1.0, is below ln 10: the limit is 10 ln 10 = 23.03
  EXPECT_DOUBLE_EQ(w.threshold(), 10 * std::log(10.0));
  for (int i = 0; i < 30; ++i) EXPECT_FALSE(w.Add(2.0));  // 31 losses: no full window yet
  EXPECT_FALSE(w.Add(600.0));                            // (1 + 60 + 600) / 32 = 20.7
  EXPECT_NEAR(w.window_mean(), 661.0 / 32, 1e-12);
  EXPECT_TRUE(w.Add(1000.0));                            // (60 + 600 + 1000) / 32 = 51.9
  EXPECT_NEAR(w.window_mean(), 1660.0 / 32, 1e-12);
}

TEST(DivergenceWatch, AShortRunUsesAShortWindow) {
  DivergenceWatch w(3, 10.0, 4);
  EXPECT_EQ(w.window(), 4);
  EXPECT_FALSE(w.Add(0.5));
  EXPECT_FALSE(w.Add(1e3));
  EXPECT_FALSE(w.Add(1e3));
  EXPECT_TRUE(w.Add(1e3));  // (0.5 + 3000) / 4 > 10 ln 3
}

TEST(DivergenceWatch, TheFirstLossRaisesTheLimitAndZeroDisablesIt) {
  DivergenceWatch high(10, 10.0, 2);
  EXPECT_FALSE(high.Add(20.0));
  EXPECT_FALSE(high.Add(150.0));  // mean 85 < 10 x 20
  EXPECT_DOUBLE_EQ(high.threshold(), 200.0);
  DivergenceWatch off(10, 0.0, 2);
  EXPECT_FALSE(off.Add(1.0));
  EXPECT_FALSE(off.Add(1e30));
  EXPECT_GT(off.window_mean(), 1e29);
}

}  // namespace
}  // namespace tte
