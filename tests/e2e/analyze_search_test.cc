// End-to-end tests of `tte analyze` and `tte search` (docs/search.md) on the repository's own default backbone
// (models/default-backbone.pkl) learning Fashion-MNIST classes 5-9 with tiny settings:
//   - a killed analysis resumes: no finished run is repeated, none is lost, and the table equals an uninterrupted one;
//   - `mpirun -np 2`, manual --rank/--ranks shards and one process give the same analysis.json bit for bit;
//   - the searched scheme fits the budget in `tte plan`, trains with `tte train`, and does not depend on the thread
//     count; an impossible budget and an analysis of another model fail with a clear message and no output;
//   - `tte search --verify` measures its candidates on the proxy split (cached) and keeps the best measured one.
#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "support/test_support.h"

namespace tte {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::SourcePath;
using testing::TempDir;
using testing::TteBinary;

std::string Model() { return SourcePath("models/default-backbone.pkl"); }
// 51 layers: 3 bias runs (k = 17, 34, 51), weights of layers 47-50 at two ratios, a baseline: 12 runs.
std::string Settings() {
  return " --model '" + Model() + "' --data fmnist --classes 5-9 --train-samples 40 --eval-samples 40 --ratios 0.5,1 "
         "--bias-step 17 --first-layer 47 --threads 1";
}
std::string Analyze(const std::string& out) { return TteBinary() + " analyze" + Settings() + " --out '" + out + "'"; }
size_t RunFiles(const std::string& dir) {
  size_t n = 0;
  if (fs::is_directory(dir + "/runs"))
    for (const auto& e : fs::directory_iterator(dir + "/runs")) n += e.path().extension() == ".json";
  return n;
}
std::string Text(const std::string& path) {
  auto t = ReadTextFile(path);
  return t.ok() ? *t : "<missing " + path + ">";
}

class AnalyzeSearch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs each test in its own process, concurrently: one reference directory per process
    reference_ = new std::string(TempDir("analyze_reference_" + std::to_string(getpid())));
    auto r = RunCommand(Analyze(*reference_));
    ok_ = r.exit_code == 0;
    if (!ok_) std::printf("%s", r.output.c_str());
  }
  static void TearDownTestSuite() { delete reference_; }
  void SetUp() override { ASSERT_TRUE(ok_) << "the reference analysis failed (output above)"; }
  static std::string* reference_;
  static bool ok_;
};
std::string* AnalyzeSearch::reference_ = nullptr;
bool AnalyzeSearch::ok_ = false;

TEST_F(AnalyzeSearch, WritesTheTableAndThePlot) {
  EXPECT_EQ(RunFiles(*reference_), 12u);
  const std::string csv = Text(*reference_ + "/analysis.csv");
  EXPECT_NE(csv.find("baseline,0"), std::string::npos) << csv;
  EXPECT_NE(csv.find("weight,0,50,"), std::string::npos) << csv;
  EXPECT_NE(Text(*reference_ + "/analysis.svg").find("<svg"), std::string::npos);
}

TEST_F(AnalyzeSearch, KilledAnalysisResumesWithoutRepeatingOrLosingRuns) {
  const std::string dir = TempDir("analyze_killed");
  // Start, kill -9 once two runs are cached, start again.
  auto killed = RunCommand("(" + Analyze(dir) + " >/dev/null 2>&1 & pid=$!; for i in $(seq 600); do "
                           "[ $(ls '" + dir + "/runs' 2>/dev/null | grep -c json) -ge 2 ] && break; sleep 0.05; done; "
                           "kill -9 $pid; wait $pid; true)");
  const size_t cached = RunFiles(dir);
  ASSERT_GE(cached, 2u);
  ASSERT_LT(cached, 12u) << "the analysis finished before it was killed";
  EXPECT_FALSE(fs::exists(dir + "/analysis.json"));
  auto resumed = RunCommand(Analyze(dir));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("this process: 12 runs, " + std::to_string(cached) + " cached"), std::string::npos)
      << resumed.output;
  size_t lines = 0;  // "[i/n] <run>" lines: runs executed by this start
  for (const char* kind : {"] baseline", "] bias-k", "] weight-l"})
    for (size_t at = resumed.output.find(kind); at != std::string::npos; at = resumed.output.find(kind, at + 1)) ++lines;
  EXPECT_EQ(lines, 12u - cached) << resumed.output;
  EXPECT_EQ(Text(dir + "/analysis.json"), Text(*reference_ + "/analysis.json"));
  // A third start runs nothing.
  auto again = RunCommand(Analyze(dir));
  EXPECT_NE(again.output.find("12 runs, 12 cached"), std::string::npos) << again.output;
}

TEST_F(AnalyzeSearch, ShardedProcessesGiveTheSameTable) {
  const std::string dir = TempDir("analyze_sharded");
  for (int r = 0; r < 2; ++r) {
    auto shard = RunCommand(Analyze(dir) + " --rank " + std::to_string(r) + " --ranks 2");
    ASSERT_EQ(shard.exit_code, 0) << shard.output;
  }
  auto gather = RunCommand(Analyze(dir) + " --gather-only");
  ASSERT_EQ(gather.exit_code, 0) << gather.output;
  EXPECT_EQ(Text(dir + "/analysis.json"), Text(*reference_ + "/analysis.json"));
}

TEST_F(AnalyzeSearch, MpirunWithTwoRanksGivesTheSameTable) {
  if (RunCommand("command -v mpirun").exit_code != 0) GTEST_SKIP() << "mpirun not installed (apt-get install openmpi-bin)";
  if (RunCommand(TteBinary() + " analyze --help").output.find("rank") == std::string::npos) GTEST_SKIP();
  const std::string dir = TempDir("analyze_mpi");
  // ASan's leak check would report Open MPI's own allocations at exit.
  auto r = RunCommand("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 "
                      "mpirun --oversubscribe -np 2 " + Analyze(dir));
  if (r.output.find("built without MPI") != std::string::npos) GTEST_SKIP() << "tte was built without MPI";
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 1/2"), std::string::npos) << r.output;
  EXPECT_EQ(Text(dir + "/analysis.json"), Text(*reference_ + "/analysis.json"));
}

TEST_F(AnalyzeSearch, SearchedSchemeFitsThePlanAndTrains) {
  const std::string dir = TempDir("search");
  const std::string search = TteBinary() + " search --model '" + Model() + "' --analysis '" + *reference_ +
                             "' --budget 160KB --generations 6 --population 12 --quiet";
  auto r1 = RunCommand(search + " --threads 1 --out '" + dir + "/a.json' --report '" + dir + "/report.json'");
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  auto r2 = RunCommand(search + " --threads 2 --out '" + dir + "/b.json'");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(Text(dir + "/a.json"), Text(dir + "/b.json"));
  EXPECT_NE(Text(dir + "/report.json").find("planned_peak_sram_bytes"), std::string::npos);
  auto plan = RunCommand(TteBinary() + " plan --model '" + Model() + "' --num-classes 5 --scheme '" + dir +
                         "/a.json' --budget 160KB");
  EXPECT_EQ(plan.exit_code, 0) << plan.output;
  auto train = RunCommand(TteBinary() + " train --model '" + Model() + "' --scheme '" + dir +
                          "/a.json' --data fmnist --classes 5-9 --train-samples 8 --eval-samples 8 --quiet");
  EXPECT_EQ(train.exit_code, 0) << train.output;
}

// --verify: one candidate per limit on weight-trained layers, each fine-tuned on the analysis's proxy split (cached
// in its runs/ like the analysis's own runs), the best measured one written; a second search repeats no run.
TEST_F(AnalyzeSearch, VerifyMeasuresEachCandidateAndKeepsTheBestMeasured) {
  const std::string dir = TempDir("search_verify");
  fs::copy(*reference_, dir + "/an", fs::copy_options::recursive);
  const std::string search = TteBinary() + " search --model '" + Model() + "' --analysis '" + dir +
                             "/an' --budget 160KB --generations 6 --population 12 --quiet --threads 1 --verify "
                             "--verify-limits 0,1,-1 --out '" + dir + "/s.json' --report '" + dir + "/report.json'";
  auto r = RunCommand(search);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = nlohmann::json::parse(Text(dir + "/report.json"), nullptr, false);
  ASSERT_TRUE(report.is_object() && report.contains("verified")) << Text(dir + "/report.json");
  const auto& cands = report["verified"];
  ASSERT_GE(cands.size(), 1u);
  ASSERT_LE(cands.size(), 3u);
  double best = -1;
  for (const auto& c : cands) best = std::max(best, c["measured_top1"].get<double>());
  int chosen = 0;
  for (const auto& c : cands)
    if (c["chosen"].get<bool>()) {
      ++chosen;
      EXPECT_EQ(c["measured_top1"].get<double>(), best);
      EXPECT_EQ(c["scheme"], nlohmann::json::parse(Text(dir + "/s.json"), nullptr, false));
      EXPECT_EQ(report["measured_top1"].get<double>(), best);
    }
  EXPECT_EQ(chosen, 1);
  EXPECT_EQ(cands[0]["max_weight_layers"].get<int>(), 0);  // the biases-only candidate is always there
  EXPECT_TRUE(cands[0]["scheme"]["weights"].empty());
  EXPECT_EQ(RunFiles(dir + "/an"), 12u + cands.size());  // one cached proxy run per candidate
  auto again = RunCommand(search);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  size_t cached = 0;
  for (size_t at = again.output.find(", cached"); at != std::string::npos; at = again.output.find(", cached", at + 1))
    ++cached;
  EXPECT_EQ(cached, cands.size()) << again.output;
  EXPECT_EQ(RunFiles(dir + "/an"), 12u + cands.size());
  // The measured runs must be the analysis's kind of run: other training options are refused, naming the field.
  auto other = RunCommand(search + " --no-qas");
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("settings.qas"), std::string::npos) << other.output;
  std::string no_limits = search;
  no_limits.replace(no_limits.find("--verify-limits 0,1,-1"), 22, "--verify-limits ''");
  auto none = RunCommand(no_limits);
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("--verify-limits: give at least one limit"), std::string::npos) << none.output;
}

TEST_F(AnalyzeSearch, ImpossibleBudgetAndForeignAnalysisFailClearly) {
  const std::string dir = TempDir("search_bad");
  auto tiny = RunCommand(TteBinary() + " search --model '" + Model() + "' --analysis '" + *reference_ +
                         "' --budget 4KB --quiet --out '" + dir + "/s.json'");
  EXPECT_EQ(tiny.exit_code, 1) << tiny.output;
  EXPECT_NE(tiny.output.find("even the head-only program needs"), std::string::npos) << tiny.output;
  EXPECT_FALSE(fs::exists(dir + "/s.json"));
  const std::string other = SourcePath("tests/e2e/analyze_search_test.cc");  // any other file as "the model"
  auto foreign = RunCommand(TteBinary() + " search --model '" + Model() + "' --analysis '" + other + "' --budget 1MB");
  EXPECT_NE(foreign.exit_code, 0);
  EXPECT_NE(foreign.output.find("not a tte analysis"), std::string::npos) << foreign.output;
}

}  // namespace
}  // namespace tte
