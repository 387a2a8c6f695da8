// `tte plan` as a user runs it: the report, --json, --svg, and the --budget failure message.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/file_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

std::string Plan(const std::string& args) {
  return testing::TteBinary() + " plan --model " + testing::SharedPath("models/mcunet-5fps.pkl") + " " + args;
}

bool Has(const std::string& s, const std::string& text) { return s.find(text) != std::string::npos; }

TEST(MemoryPlanCli, BudgetExceededFailsNamingWhatDoesNotFitAndTheLargestUsers) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  const auto r = testing::RunCommand(Plan("--scheme full --budget 256KB"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Has(r.output, "tte plan: error:")) << r.output;
  EXPECT_TRUE(Has(r.output, "does not fit the 262,144 B (256.0 KB) budget")) << r.output;
  EXPECT_TRUE(Has(r.output, "whatever the arena plan")) << r.output;  // full update: the weights alone
  EXPECT_TRUE(Has(r.output, "Largest SRAM users:")) << r.output;
  EXPECT_TRUE(Has(r.output, "(arena, live at #")) << r.output;
}

TEST(MemoryPlanCli, BudgetThatFitsSucceedsInEveryUnit) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  for (const char* budget : {"1MB", "1024K", "1048576", "1M"}) {
    const auto r = testing::RunCommand(Plan(std::string("--scheme bias-only --budget ") + budget));
    EXPECT_EQ(r.exit_code, 0) << budget << ": " << r.output;
    EXPECT_TRUE(Has(r.output, "budget 1024.0 KB: fits")) << r.output;
  }
  const auto bad = testing::RunCommand(Plan("--scheme bias-only --budget 12XB"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(Has(bad.output, "--budget")) << bad.output;
}

TEST(MemoryPlanCli, TextReportShowsTheBreakdownBoundRatioHeuristicAndPeakOp) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  const auto r = testing::RunCommand(Plan("--scheme last:4"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* want : {"arena (planned)", "trainable weight slices", "trainable biases", "fp32 master copies",
                           "optimizer state", "gradient buffers", "head (fp32", "stack/runtime reserve",
                           "= peak SRAM", "frozen weights", "scales (eff, QAS)", "channel tables",
                           "code (estimate)", "lower bound", "arena / lower bound", "peak op: #", "heuristic: "})
    EXPECT_TRUE(Has(r.output, want)) << want << " missing in:\n" << r.output;
}

TEST(MemoryPlanCli, PatchGridIsChosenAutomaticallyAndLowersThePeak) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  TTE_REQUIRE_SHARED("reference/schemes.json");
  const std::string scheme = "--scheme " + testing::SharedPath("reference/schemes.json") + " --scheme-name 49kb";
  const auto plain = testing::RunCommand(Plan(scheme + " --patches 0 --budget 160KB"));
  const auto patched = testing::RunCommand(Plan(scheme + " --budget 160KB"));  // --patches auto by default
  EXPECT_EQ(plain.exit_code, 1) << plain.output;  // the 64x64 forward stage alone needs 160 KB of arena
  EXPECT_EQ(patched.exit_code, 0) << patched.output;
  EXPECT_TRUE(Has(patched.output, "patch-based forward: ")) << patched.output;
  EXPECT_TRUE(Has(patched.output, "(tried: off ")) << patched.output;
  EXPECT_TRUE(Has(plain.output, "patch-based forward: off")) << plain.output;
}

TEST(MemoryPlanCli, JsonHasTheDocumentedKeysAndSvgIsWrittenAtomically) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  const std::string dir = testing::TempDir("memory_plan_cli");
  const std::string svg = dir + "/plan.svg";
  const auto r = testing::RunCommand(Plan("--scheme bias-only --no-reorder --json --budget 0.25MB --svg " + svg));
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.output;
  for (const char* key : {"\"peak_sram_bytes\": ", "\"arena_bytes\": ", "\"lower_bound_bytes\": ",
                          "\"trainable_sram_bytes\": ", "\"flash_bytes\": ", "\"arena_lower_bound_ratio\": ",
                          "\"budget_bytes\": 262144", "\"fits\": ", "\"gradient_buffers\": ", "\"reordered\": false",
                          "\"heuristic\": ", "\"peak_op_label\": ", "\"largest_sram_users\": ", "\"patch_grid\": ",
                          "\"in_place\": "})
    EXPECT_TRUE(Has(r.output, key)) << key << " missing in:\n" << r.output;
  ASSERT_TRUE(FileExists(svg));
  std::ifstream f(svg);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  EXPECT_EQ(s.rfind("<svg", 0), 0u);
  for (const char* want : {"op index (schedule order)", "arena offset (KB)", "forward (ops", "backward (ops",
                           "peak op", "gradient", "mask", "</svg>"})
    EXPECT_TRUE(Has(s, want)) << want;
  // Atomic write: no temporary file left beside it.
  const auto ls = testing::RunCommand("ls -a " + dir);
  EXPECT_FALSE(Has(ls.output, ".tmp")) << ls.output;
}

}  // namespace
}  // namespace tte
