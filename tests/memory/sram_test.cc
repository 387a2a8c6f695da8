// SRAM/flash accounting and the budget: every byte of a program is counted once, in the right line; byte
// sizes parse as documented; an exceeded budget names what does not fit.
#include <gtest/gtest.h>

#include "compiler/train_compiler.h"
#include "memory/planner.h"
#include "core/byte_size.h"
#include "memory/sram.h"
#include "model/pkl_io.h"
#include "program_builder.h"
#include "support/test_support.h"

namespace tte {
namespace {

using testing::ProgramBuilder;

TEST(MemoryBudget, ByteSizesParseInEveryDocumentedForm) {
  for (const char* s : {"256KB", "256K", "256kb", "256KiB", "262144", "262144B", "0.25MB", "0.25M", " 256 KB "}) {
    auto v = ParseByteSize(s);
    ASSERT_TRUE(v.ok()) << s << ": " << v.status().ToString();
    EXPECT_EQ(*v, 262144) << s;
  }
  EXPECT_EQ(*ParseByteSize("1M"), 1048576);
  for (const char* s : {"", "abc", "-1", "0", "1.5", "12XB", "1..2K", "KB"}) EXPECT_FALSE(ParseByteSize(s).ok()) << s;
}

TEST(MemoryBudget, PeakIsArenaPlusStatePlusReserveAndEveryByteIsCountedOnce) {
  ProgramBuilder pb;
  const int x = pb.Input("x", 1000), y = pb.Output("y", 500);
  const int w = pb.State("w_train", 300), b = pb.State("bias", 40), gw = pb.State("grad_w", 1200);
  const int extra = pb.State("unbound_state", 8);
  Program& p = pb.program();
  ConvBinding cb;
  cb.w_train = w;
  cb.bias_i32 = b;
  cb.grad_w = gw;
  p.convs.push_back(cb);
  pb.Op({x, w, b}, {y});
  auto plan = PlanMemory(&p);
  ASSERT_TRUE(plan.ok());
  AccountingOptions ao;
  ao.reserve_bytes = 4096;
  const MemoryReport r = AccountMemory(p, *plan, ao);
  EXPECT_EQ(r.arena_bytes, 1500);  // x at 0, y at 1000: no padding after the last tensor
  EXPECT_EQ(r.trainable_weight_bytes, 300);
  EXPECT_EQ(r.trainable_bias_bytes, 40);
  EXPECT_EQ(r.gradient_buffer_bytes, 1200);
  EXPECT_EQ(r.other_state_bytes, 8);
  EXPECT_EQ(r.state_bytes, 300 + 40 + 1200 + 8);
  EXPECT_EQ(r.trainable_sram_bytes, r.state_bytes);
  EXPECT_EQ(r.peak_sram_bytes, 1500 + r.state_bytes + 4096);
  ASSERT_FALSE(r.largest.empty());
  EXPECT_EQ(r.largest[0].name, "stack/runtime reserve");
  (void)extra;
}

TEST(MemoryBudget, ExceededBudgetNamesTheOverflowAndTheLargestUsers) {
  ProgramBuilder pb;
  const int x = pb.Input("image", 100000), y = pb.Output("features", 100000);
  pb.Op({x}, {y});
  auto plan = PlanMemory(&pb.program());
  ASSERT_TRUE(plan.ok());
  const MemoryReport r = AccountMemory(pb.program(), *plan);
  EXPECT_TRUE(CheckBudget(r, 300000).ok());
  const Status st = CheckBudget(r, 150000);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory);
  for (const char* want : {"does not fit", "150,000 B", "Largest SRAM users", "image", "features"})
    EXPECT_NE(st.message().find(want), std::string::npos) << want << " missing in: " << st.message();
}

TEST(MemoryBudget, StateAloneOverTheBudgetIsReportedAsPhysicallyImpossible) {
  ProgramBuilder pb;
  const int x = pb.Input("x", 16), y = pb.Output("y", 16), w = pb.State("weights", 300000);
  Program& p = pb.program();
  ConvBinding cb;
  cb.w_train = w;
  p.convs.push_back(cb);
  pb.Op({x, w}, {y});
  auto plan = PlanMemory(&p);
  ASSERT_TRUE(plan.ok());
  const Status st = CheckBudget(AccountMemory(p, *plan), 262144);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("whatever the arena plan"), std::string::npos) << st.message();
}

TEST(MemoryBudget, RealProgramAccountingMatchesItsTensors) {
  TTE_REQUIRE_SHARED("models/mcunet-5fps.pkl");
  TTE_REQUIRE_SHARED("reference/schemes.json");
  auto m = testing::LoadGraph(testing::SharedPath("models/mcunet-5fps.pkl"));
  ASSERT_TRUE(m.ok());
  auto s = LoadScheme(testing::SharedPath("reference/schemes.json"), "49kb", "mcunet-5fps");
  ASSERT_TRUE(s.ok());
  for (bool fused : {true, false}) {
    TrainOptions opt;
    opt.fuse_updates = fused;
    auto ct = CompileTraining(*m, *s, opt);
    ASSERT_TRUE(ct.ok()) << ct.status().ToString();
    Program& p = ct->program;
    auto plan = PlanMemory(&p);
    ASSERT_TRUE(plan.ok());
    const MemoryReport r = AccountMemory(p, *plan);
    int64_t state = 0, flash = 0, state_init = 0;
    for (const TensorInfo& t : p.tensors) {
      if (t.storage == Storage::kState) state += t.bytes();
      if (t.storage == Storage::kState && !t.init.empty()) state_init += t.bytes();
      if (t.storage == Storage::kFlash) flash += t.bytes();
    }
    EXPECT_EQ(r.state_bytes, state);
    EXPECT_EQ(r.state_init_bytes, state_init);
    EXPECT_EQ(r.flash_bytes, flash + state_init + r.code_bytes);  // the state's initial values are in flash too
    EXPECT_EQ(r.other_state_bytes, 0) << "every state tensor has a role";
    // The 49kb scheme trains 12 + 24 + 24 input channels of three 1x1 convs: 1728 + 4608 + 5760 bytes.
    EXPECT_EQ(r.trainable_weight_bytes, 1728 + 4608 + 5760);
    EXPECT_EQ(r.head_bytes, (10 * 160 + 10) * 4);
    if (fused) EXPECT_EQ(r.gradient_buffer_bytes, 0) << "operator reordering keeps no gradient buffers";
    else EXPECT_GT(r.gradient_buffer_bytes, 0);
    EXPECT_EQ(r.peak_sram_bytes, r.arena_bytes + r.state_bytes + kStackReserveBytes);
  }
}

}  // namespace
}  // namespace tte
