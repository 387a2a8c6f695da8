// Runs the catalogue of bad inputs (bad_inputs.cc) through the `tte` binary: every entry must end in
// exit code 1 or 2 (never a signal, a sanitizer report or an uncaught exception) with a message naming
// the file and the field or byte offset, and leave no output file, no temporary file behind. The
// messages, with the limits of core/limits.h, make up docs/bad-inputs.md, which must match
// (TTE_UPDATE_DOCS=1 rewrites it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file_io.h"
#include "core/limits.h"
#include "core/npy.h"
#include "e2e/bad_inputs.h"
#include "model/pkl_io.h"
#include "support/sample_files.h"
#include "support/test_support.h"

namespace tte {
namespace {

namespace fs = std::filesystem;
using testing::BadInput;
using testing::RunCommand;

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// How a full file system is made: a 16 KB tmpfs, filled up, in a private mount namespace (unshare, as
// root or through a user namespace); where that is not allowed, a file-size limit of 0 (ulimit -f 0,
// SIGXFSZ ignored), which fails the same write() calls.
bool CanMountTmpfs() {
  static const bool ok = RunCommand("unshare -rm sh -c 'mount -t tmpfs -o size=16k tmpfs /tmp'").exit_code == 0;
  return ok;
}

std::string Quote(const std::string& s) { return "'" + Replace(s, "'", "'\\''") + "'"; }

testing::CommandResult RunEntry(const BadInput& e, const std::string& args, const std::string& dir) {
  const std::string tte = testing::TteBinary() + " " + args;
  switch (e.runner) {
    case BadInput::Runner::kPlain:
      return RunCommand(tte);
    case BadInput::Runner::kAsOtherUser:  // root reads every file: drop to nobody
      return RunCommand(geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " + tte : tte);
    case BadInput::Runner::kStdoutFull:
      return RunCommand("sh -c " + Quote("exec " + tte + " >/dev/full"));
    case BadInput::Runner::kFullDisk: {
      const std::string full = dir + "/full";
      fs::create_directories(full);
      if (CanMountTmpfs())
        return RunCommand("unshare -rm sh -c " +
                          Quote("mount -t tmpfs -o size=16k tmpfs " + full + " && { head -c 20000 /dev/zero > " + full +
                                "/fill; } 2>/dev/null; " + tte + "; rc=$?; echo \"left in full/: $(ls " + full +
                                " | tr '\\n' ' ')\"; exit $rc"));
      return RunCommand("sh -c " + Quote("trap '' XFSZ; ulimit -f 0; exec " + tte));
    }
  }
  return {};
}

// The message a user sees: the first line holding "error:".
std::string ErrorLine(const std::string& output) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (line.find("error:") != std::string::npos) return line;
  return "";
}

std::string LimitsTable() {
  namespace L = limits;
  struct Row {
    const char* what;
    int64_t value;
    const char* where;
  };
  const Row rows[] = {
      {"pickle: containers nested inside each other", L::kMaxPickleDepth, "src/model/pickle.cc"},
      {"pickle: values created", static_cast<int64_t>(L::kMaxPickleValues), "src/model/pickle.cc"},
      {"pickle: values on the stack", static_cast<int64_t>(L::kMaxPickleStack), "src/model/pickle.cc"},
      {"pickle: memo entries", static_cast<int64_t>(L::kMaxPickleMemo), "src/model/pickle.cc"},
      {"numpy array in a pickle: elements", L::kMaxArrayElements, "src/model/pickle.cc"},
      {"model: blocks", static_cast<int64_t>(L::kMaxModelBlocks), "src/model/pkl_io.cc"},
      {"zip entry: uncompressed bytes", static_cast<int64_t>(L::kMaxZipEntryBytes), "src/core/zip.cc"},
      {"zip entry: deflate expansion (uncompressed / compressed)", static_cast<int64_t>(L::kMaxDeflateRatio), "src/core/zip.cc"},
      {".npy: header bytes", static_cast<int64_t>(L::kMaxNpyHeaderBytes), "src/core/npy.cc"},
      {".npy: dimensions", L::kMaxNpyDims, "src/core/npy.cc"},
      {"IDX / gzip: decompressed bytes", static_cast<int64_t>(L::kMaxIdxBytes), "src/data/idx.cc"},
      {"image: width x height (checked from the header, before decoding)", L::kMaxImagePixels, "src/data/image.cc"},
      {"program: bytes of one activation tensor", L::kMaxActivationBytes, "src/compiler/forward_builder.cc"},
      {"program: arena + state bytes", L::kMaxExecutorBytes, "src/runtime/executor.cc"},
  };
  std::string t = "| limit | value | enforced in |\n|---|---|---|\n";
  for (const Row& r : rows) t += std::string("| ") + r.what + " | " + std::to_string(r.value) + " | `" + r.where + "` |\n";
  return t;
}

std::string Cell(std::string s) { return Replace(Replace(s, "|", "\\|"), "`", "'"); }

TEST(BadInputs, EveryEntryGivesAClearMessageAndNoOutput) {
  std::string doc = "## The limits\n\n" + LimitsTable() + "\n## The catalogue\n";
  std::string kind;
  Tensor labels(DType::kInt64, {16});
  for (int64_t i = 0; i < 16; ++i) labels.data<int64_t>()[i] = i % 3;
  for (const BadInput& e : testing::BadInputCatalogue()) {
    SCOPED_TRACE(e.id);
    const std::string dir = testing::TempDir("bad_inputs/" + e.id);
    testing::WriteBytes(dir + "/good.pkl", testing::TinyModelFile());
    testing::WriteBytes(dir + "/x.npy", SerializeNpy(testing::RampTensor(DType::kInt8, {1, 3, 8, 8})));
    testing::WriteBytes(dir + "/train.npy", SerializeNpy(testing::RampTensor(DType::kInt8, {16, 3, 8, 8})));
    testing::WriteBytes(dir + "/labels.npy", SerializeNpy(labels));
    e.make(dir);
    const std::string args = Replace(Replace(e.args, "{good}", dir + "/good.pkl"), "{dir}", dir);
    const auto r = RunEntry(e, args, dir);
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << "exit " << r.exit_code << ": " << r.output;
    for (const char* crash : {"Sanitizer", "runtime error", "Segmentation", "terminate called", "Aborted"})
      EXPECT_EQ(r.output.find(crash), std::string::npos) << r.output;
    const std::string message = ErrorLine(r.output);
    EXPECT_FALSE(message.empty()) << r.output;
    for (const std::string& s : e.says) EXPECT_NE(message.find(s), std::string::npos) << "'" << s << "' not in: " << message;
    for (const std::string& f : e.no_output) EXPECT_FALSE(FileExists(dir + "/" + f)) << f << " was written";
    if (e.runner == BadInput::Runner::kFullDisk && CanMountTmpfs()) {
      EXPECT_NE(r.output.find("left in full/: fill \n"), std::string::npos) << r.output;
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      EXPECT_EQ(it->path().filename().string().find(".tmp."), std::string::npos) << "left behind: " << it->path();
    if (e.kind != kind) {
      kind = e.kind;
      doc += "\n### " + kind + "\n\n| input | command | message |\n|---|---|---|\n";
    }
    const std::string shown = Replace(Replace(Replace(e.args, "{good}", "good.pkl"), "{dir}/", ""), "{dir}", ".");
    doc += "| " + Cell(e.what) + " | `tte " + Cell(shown) + "` | " + Cell(Replace(message, dir + "/", "")) + " |\n";
  }
  // docs/bad-inputs.md holds `doc` between its markers.
  const std::string path = testing::SourcePath("docs/bad-inputs.md");
  const std::string begin = "<!-- catalogue:begin -->\n", end = "<!-- catalogue:end -->";
  auto text = ReadTextFile(path);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const size_t b = text->find(begin), x = text->find(end);
  ASSERT_TRUE(b != std::string::npos && x != std::string::npos && b < x) << path << ": markers missing";
  const std::string current = text->substr(b + begin.size(), x - b - begin.size());
  if (current != doc && std::getenv("TTE_UPDATE_DOCS")) {
    std::ofstream(path) << text->substr(0, b + begin.size()) << doc << text->substr(x);
    return;
  }
  EXPECT_EQ(current, doc) << path << " is out of date: run TTE_UPDATE_DOCS=1 ctest -R BadInputs";
}

// --keep-last-good: the run still fails, and --out holds the state of the last epoch that completed.
TEST(TrainDivergence, KeepLastGoodWritesTheLastGoodStateAndStillFails) {
  const std::string dir = testing::TempDir("keep_last_good");
  testing::WriteBytes(dir + "/good.pkl", testing::TinyModelFile());
  testing::WriteBytes(dir + "/train.npy", SerializeNpy(testing::RampTensor(DType::kInt8, {16, 3, 8, 8})));
  Tensor labels(DType::kInt64, {16});
  for (int64_t i = 0; i < 16; ++i) labels.data<int64_t>()[i] = i % 3;
  testing::WriteBytes(dir + "/labels.npy", SerializeNpy(labels));
  const std::string base = testing::TteBinary() + " train --model " + dir + "/good.pkl --data npy:" + dir + "/train.npy --labels " +
                           dir + "/labels.npy --eval-data npy:" + dir + "/train.npy --eval-labels " + dir +
                           "/labels.npy --quiet --keep-last-good --metrics " + dir + "/m.jsonl ";
  // Diverging at once: the starting model is written (its convs untouched).
  auto r = RunCommand(base + "--epochs 1 --lr 1e30 --out " + dir + "/start.pkl");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("training diverged at epoch 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--keep-last-good: wrote the state of the start of the run"), std::string::npos) << r.output;
  auto start = LoadModel(dir + "/start.pkl");
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  const Model tiny = testing::TinyModel();
  EXPECT_EQ(start->first_conv.weight, tiny.first_conv.weight);
  EXPECT_EQ(start->blocks[0].depthwise.bias, tiny.blocks[0].depthwise.bias);
  EXPECT_FALSE(FileExists(dir + "/m.jsonl")) << "no epoch completed: no metrics";
  // Two epochs of 16 samples: the window is 32, so a limit below any loss fires at the last sample of
  // epoch 2; epoch 1 completed and is what --out gets.
  r = RunCommand(base + "--epochs 2 --lr 0.01 --divergence-factor 0.001 --out " + dir + "/epoch1.pkl");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("training diverged at epoch 2, update 31"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wrote the state of the end of epoch 1"), std::string::npos) << r.output;
  EXPECT_TRUE(LoadModel(dir + "/epoch1.pkl").ok());
  auto metrics = ReadTextFile(dir + "/m.jsonl");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(std::count(metrics->begin(), metrics->end(), '\n'), 1);
  // Without --keep-last-good nothing is written.
  r = RunCommand(Replace(base, "--keep-last-good ", "") + "--epochs 1 --lr 1e30 --out " + dir + "/none.pkl");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(FileExists(dir + "/none.pkl"));
}

}  // namespace
}  // namespace tte
