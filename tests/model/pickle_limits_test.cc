// The pickle reader's limits (issue 17): nesting depth refused at the opcode that exceeds it (the 1 MB
// files of the issue included), containers that change after being contained, values left unbuilt,
// repeated dict keys in linear time, and the writer's handling of shared values (linear, round trip).
// Everything is generated here; nothing comes from ../shared.
#include <gtest/gtest.h>

#include "core/limits.h"
#include "core/zip.h"
#include "model/pickle.h"
#include "model/pkl_io.h"
#include "support/sample_files.h"

namespace tte {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes Repeat(uint8_t b, size_t n) { return Bytes(n, b); }

std::string LoadError(const Bytes& pkl) {
  auto r = pickle::Load(pkl, "t.pkl");
  return r.ok() ? "" : r.status().message();
}

TEST(PickleLimits, TheIssuesNestedTuplesAreRefusedAtTheLimit) {
  // PROTO 2, NONE, 1,000,000 x TUPLE1, STOP: the 101st TUPLE1 (byte 3 + 100) is refused.
  const Bytes pkl = Cat({{0x80, 2, 'N'}, Repeat(0x85, 1000000), {'.'}});
  EXPECT_EQ(LoadError(pkl), "t.pkl: pickle byte 103: containers nested more than 100 deep");
  // The same under the dict key first_conv, through the whole model path.
  const Bytes key = {'X', 10, 0, 0, 0, 'f', 'i', 'r', 's', 't', '_', 'c', 'o', 'n', 'v'};
  ZipWriter w;
  w.Add("archive/data.pkl", Cat({{0x80, 2, '}'}, key, {'N'}, Repeat(0x85, 1000000), {'s', '.'}}));
  auto m = ParseModelFile(w.Finish(), "crafted.pkl");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "crafted.pkl:archive/data.pkl: pickle byte 119: containers nested more than 100 deep");
}

TEST(PickleLimits, NestingUpToTheLimitLoadsAndDumpsBack) {
  const int depth = limits::kMaxPickleDepth;
  const Bytes pkl = Cat({{0x80, 2, 'N'}, Repeat(0x85, depth), {'.'}});
  auto v = pickle::Load(pkl, "t");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)->depth, depth);
  EXPECT_EQ(pickle::Dump(**v), pkl);
}

TEST(PickleLimits, DeepListsAndDictsAreRefusedToo) {
  // Lists appended into each other from the top of the stack down.
  EXPECT_NE(LoadError(Cat({{0x80, 2}, Repeat(']', 5000), Repeat('a', 4999), {'.'}})).find("nested more than 100 deep"),
            std::string::npos);
  // Dicts as values of dicts: } K0 } K0 } ... s s s
  Bytes dicts = {0x80, 2};
  for (int i = 0; i < 300; ++i) dicts.insert(dicts.end(), {'}', 'K', 0});
  dicts.push_back('}');
  dicts.insert(dicts.end(), 300, 's');
  dicts.push_back('.');
  EXPECT_NE(LoadError(dicts).find("nested more than 100 deep"), std::string::npos) << LoadError(dicts);
}

TEST(PickleLimits, AContainedListCannotChange) {
  // a = []; b = [a]; then a.append(b) through the memo: a cycle built in two steps.
  const Bytes pkl = {0x80, 2, ']', 'q', 0, ']', 'h', 0, 'a', 'q', 1, 'h', 0, 'h', 1, 'a', '.'};
  EXPECT_NE(LoadError(pkl).find("pickle byte 15: APPEND to a list that is already inside another container"),
            std::string::npos)
      << LoadError(pkl);
  // A list appended to itself.
  EXPECT_NE(LoadError({0x80, 2, ']', 'q', 0, 'h', 0, 'a', '.'}).find("pickle byte 7: a list inside itself (reference cycle)"),
            std::string::npos);
}

TEST(PickleLimits, InternalValuesCannotRemain) {
  EXPECT_NE(LoadError({0x80, 2, 'c', 'n', 'u', 'm', 'p', 'y', '\n', 'n', 'd', 'a', 'r', 'r', 'a', 'y', '\n', '.'})
                .find("the result holds a bare global"),
            std::string::npos);
}

TEST(PickleLimits, RepeatedDictKeysKeepTheirPlaceAndTakeTheLastValue) {
  // { 'a': 1, 'b': 2, 'a': 3 } -> a=3 first, then b.
  const Bytes pkl = {0x80, 2, '}', '(', 0x8c, 1, 'a', 'K', 1, 0x8c, 1, 'b', 'K', 2, 0x8c, 1, 'a', 'K', 3, 'u', '.'};
  auto v = pickle::Load(pkl, "t");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ((*v)->dict.size(), 2u);
  EXPECT_EQ((*v)->dict[0].first->s, "a");
  EXPECT_EQ((*v)->dict[0].second->i, 3);
  EXPECT_EQ((*v)->dict[1].first->s, "b");
}

TEST(PickleLimits, ADictOfManyKeysLoads) {
  // 100,000 distinct int keys set one by one, then one of them again (an index finds repeats; the
  // linear scan it replaces made this quadratic).
  Bytes pkl = {0x80, 2, '}'};
  for (uint32_t k = 0; k < 100000; ++k) pkl.insert(pkl.end(), {'J', uint8_t(k), uint8_t(k >> 8), uint8_t(k >> 16), 0, 'N', 's'});
  pkl.insert(pkl.end(), {'J', 7, 0, 0, 0, 0x88, 's', '.'});
  auto v = pickle::Load(pkl, "t");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ((*v)->dict.size(), 100000u);
  EXPECT_EQ((*v)->dict[7].second->type, pickle::PyType::kBool);
}

TEST(PickleLimits, SharedValuesAreWrittenOnceAndReadBackShared) {
  // x0 = [], x(i+1) = [x(i), x(i)], all in one tuple: x60 alone is 2^60 paths but 61 values.
  Bytes pkl = {0x80, 2, '(', ']', 'q', 0};
  for (int i = 1; i <= 60; ++i) pkl.insert(pkl.end(), {']', '(', 'h', uint8_t(i - 1), 'h', uint8_t(i - 1), 'e', 'q', uint8_t(i)});
  pkl.insert(pkl.end(), {'t', '.'});
  auto v = pickle::Load(pkl, "t");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)->depth, 61);
  const Bytes once = pickle::Dump(**v);
  EXPECT_LT(once.size(), 2000u);
  auto again = pickle::Load(once, "t2");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(pickle::Dump(**again), once);
  const pickle::PyValue& x60 = *(*again)->items[60];
  EXPECT_EQ(x60.items[0].get(), x60.items[1].get());
  EXPECT_EQ(x60.items[0].get(), (*again)->items[59].get());
}

TEST(PickleLimits, TreesWithoutSharingAreWrittenWithoutMemo) {
  // What tte itself writes (models) has no memo opcodes, as before: the bytes of a model file do not change.
  const Bytes pkl = pickle::Dump(*ModelToPickle(testing::TinyModel()));
  auto v = pickle::Load(pkl, "t");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(pickle::Dump(**v), pkl);
}

TEST(PickleLimits, ArrayShapesCannotOverflow) {
  // _reconstruct + BUILD with shape (2^31, 2^31, 2^31): refused at the second dimension, before any multiply overflows.
  pickle::PyPtr a = pickle::Array(Tensor());
  a->array.dtype = DType::kInt8;
  a->array.shape = {int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 31};
  EXPECT_NE(LoadError(pickle::Dump(*a)).find("ndarray of more than 2147483648 elements"), std::string::npos)
      << LoadError(pickle::Dump(*a));
}

TEST(ModelLimits, AnArrayUsedByTwoLayersIsRefused) {
  pickle::PyPtr root = ModelToPickle(testing::TinyModel());
  auto* fc = const_cast<pickle::PyValue*>(root->Get("first_conv")->Get("params"));
  auto* pw2 = const_cast<pickle::PyValue*>(root->Get("blocks")->items[0]->Get("pointwise2")->Get("params"));
  for (auto& [k, v] : pw2->dict)
    if (k->s == "bias")
      for (auto& [k2, v2] : fc->dict)
        if (k2->s == "bias") v = v2;
  auto m = ModelFromPickle(*root, "shared.pkl");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "shared.pkl: blocks.0.pointwise2.params.bias: the same array is already used by another layer");
}

TEST(ModelLimits, TheTinyModelLoadsAndRoundTrips) {
  const Bytes file = testing::TinyModelFile();
  auto m = ParseModelFile(file, "tiny.pkl");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->NumConvs(), 5);
  EXPECT_EQ(m->resolution(), 8);
  EXPECT_EQ(SerializeModelFile(*m), file);
}

}  // namespace
}  // namespace tte
