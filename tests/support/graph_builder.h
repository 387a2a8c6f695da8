// GraphBuilder: small ir::Graphs for tests, with seeded random int8 weights and plausible scales, in either
// arithmetic. Each call appends one node and returns its output value id.
//
//   GraphBuilder b(ir::Requant::kTfliteInteger, {3, 12, 10}, /*seed=*/7);
//   int x = b.input();
//   int y = b.Conv(x, 8, {.kh = 3, .kw = 2, .sh = 2, .sw = 1, .pad_t = 0, .pad_b = 1});
//   int z = b.Add(y, b.Conv(x, 8, {.kh = 1, .kw = 1, .sh = 2, .sw = 1}));
//   ir::Graph g = b.Finish(b.Fc(b.GlobalPool(z), 5));   // verified
#pragma once

#include <array>
#include <cstdint>
#include <random>

#include "ir/graph.h"

namespace tte::testing {

class GraphBuilder {
 public:
  GraphBuilder(ir::Requant mode, std::array<int, 3> input_chw, uint64_t seed);

  int input() const { return g_.input; }
  // conv2d (groups 1 or a divisor) or, with depthwise, a depthwise conv with multiplier cout / cin.
  int Conv(int x, int cout, ir::Window2d w = {}, int groups = 1, bool depthwise = false, int act_min = -128,
           int act_max = 127);
  int Fc(int x, int cout, int act_min = -128, int act_max = 127);
  int Add(int a, int b, int act_min = -128, int act_max = 127);
  int AvgPool(int x, ir::Window2d w, int act_min = -128, int act_max = 127);
  int GlobalPool(int x);
  int Mean(int x);
  int Pad(int x, std::array<int, 6> pads);  // c0, c1, h0, h1, w0, w1
  int Reshape(int x, std::array<int64_t, 3> shape, bool hwc);
  // Marks `output` as the graph's output and verifies; aborts the test (ADD_FAILURE + empty graph) if invalid.
  ir::Graph Finish(int output);

 private:
  int Activation(const std::string& name, std::vector<int64_t> shape, double scale, int zero);
  int Const(const std::string& name, DType dt, std::vector<int64_t> shape, std::vector<uint8_t> data, ir::Quant q);
  std::string Name(const char* op) { return std::string(op) + std::to_string(g_.nodes.size()); }

  ir::Graph g_;
  std::mt19937_64 rng_;
};

}  // namespace tte::testing
