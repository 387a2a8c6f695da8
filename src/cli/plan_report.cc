// The memory report `tte plan` prints, as text or JSON (see plan_report.h).
#include "cli/plan_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tte {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Line(const std::string& label, int64_t bytes) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "  %-44s %14s %10s\n", label.c_str(), FormatBytes(bytes).c_str(),
                FormatKb(bytes).c_str());
  return buf;
}

// Most live bytes over the forward ops, and over the others (loss, backward, update).
std::pair<int64_t, int64_t> PhasePeaks(const Program& prog, const MemoryPlan& plan) {
  int64_t fwd = 0, bwd = 0;
  const Lifetimes& lt = plan.lifetimes;
  for (int i = 0; i < lt.num_ops && i < static_cast<int>(prog.ops.size()); ++i) {
    int64_t& peak = prog.ops[i].phase == Phase::kForward ? fwd : bwd;
    peak = std::max(peak, lt.live_bytes[i]);
  }
  return {fwd, bwd};
}

}  // namespace

std::string MemoryReportText(const ReportHeader& h, const Program& prog, const MemoryPlan& plan,
                             const MemoryReport& r) {
  std::ostringstream o;
  int arena_tensors = 0;
  for (const TensorInfo& t : prog.tensors) arena_tensors += t.storage == Storage::kArena;
  o << "model: " << h.model << "\nscheme: " << h.scheme << "\nresolution: " << h.resolution
    << ", updates: " << (h.fused ? "fused into the backward (operator reordering)"
                                 : "gradient buffers, applied at the end (no reordering)")
    << "\nin place: " << (h.in_place ? "on" : "off") << ", patch-based forward: "
    << (h.patch_grid > 0 ? std::to_string(h.patch_grid) + "x" + std::to_string(h.patch_grid) + " up to conv " +
                               std::to_string(h.patch_split_conv)
                         : std::string("off"));
  if (h.patch_tried.size() > 1) {
    o << " (tried:";
    for (const auto& [grid, bytes] : h.patch_tried)
      o << " " << (grid ? std::to_string(grid) + "x" + std::to_string(grid) : std::string("off")) << " "
        << FormatKb(bytes);
    o << ", arena + state)";
  }
  o << "\nops: " << prog.ops.size() << ", arena tensors: " << arena_tensors << "\n\nSRAM\n";
  o << Line("arena (planned)", r.arena_bytes);
  std::string at_peak = "    at the peak op:";
  for (int k = 0; k < 5; ++k)
    if (r.peak_live_by_kind[k] > 0) at_peak += std::string(" ") + TensorKindName(static_cast<TensorKind>(k)) + " " + FormatKb(r.peak_live_by_kind[k]);
  o << at_peak << "\n";
  o << Line("  of which named scratch tensors", r.arena_scratch_bytes);
  o << Line("kernel scratch outside the arena", r.kernel_scratch_bytes);
  o << Line("trainable weight slices (int8)", r.trainable_weight_bytes);
  o << Line("trainable biases (int32)", r.trainable_bias_bytes);
  o << Line("fp32 master copies", r.master_bytes);
  o << Line("optimizer state (momentum)", r.momentum_bytes);
  o << Line("gradient buffers", r.gradient_buffer_bytes);
  o << Line("head (fp32 weight + bias)", r.head_bytes);
  if (r.other_state_bytes) o << Line("other state", r.other_state_bytes);
  o << Line("stack/runtime reserve", r.reserve_bytes);
  o << Line("= peak SRAM", r.peak_sram_bytes);
  o << Line("  trainable SRAM (persistent state)", r.trainable_sram_bytes);
  o << "\nFlash\n";
  o << Line("frozen weights (int8)", r.frozen_weight_bytes);
  o << Line("frozen biases (int32)", r.frozen_bias_bytes);
  o << Line("scales (eff, QAS)", r.scale_bytes);
  o << Line("channel tables (slot/sel)", r.table_bytes);
  if (r.other_flash_bytes) o << Line("other constants", r.other_flash_bytes);
  o << Line("initial values of the SRAM state", r.state_init_bytes);
  o << Line("code (estimate)", r.code_bytes);
  o << Line("= flash", r.flash_bytes);
  char buf[256];
  o << "\nArena plan\n";
  o << Line("lower bound (most live bytes at one op)", plan.lower_bound_bytes);
  std::snprintf(buf, sizeof(buf), "  %-44s %14.4f\n", "arena / lower bound", plan.ratio());
  o << buf;
  o << "  peak op: " << plan.peak_op_label << "\n";
  const auto [fwd_peak, bwd_peak] = PhasePeaks(prog, plan);
  o << Line("most live bytes in the forward", fwd_peak);
  o << Line("most live bytes in loss/backward/update", bwd_peak);
  o << "  heuristic: " << HeuristicName(plan.heuristic) << " (tried:";
  for (const HeuristicResult& t : plan.tried) o << " " << HeuristicName(t.heuristic) << " " << t.arena_bytes;
  o << ")\n";
  o << Line("no reuse (every tensor in its own bytes)", plan.no_reuse_bytes);
  o << "\nLargest SRAM users\n";
  for (const MemoryItem& m : r.largest) o << Line(m.name, m.bytes);
  return o.str();
}

std::string MemoryReportJson(const ReportHeader& h, const Program& prog, const MemoryPlan& plan,
                             const MemoryReport& r, int64_t budget_bytes) {
  std::ostringstream o;
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.6f", plan.ratio());
  o << "{\n  \"model\": " << JsonString(h.model) << ",\n  \"scheme\": " << JsonString(h.scheme)
    << ",\n  \"resolution\": " << h.resolution << ",\n  \"reordered\": " << (h.fused ? "true" : "false")
    << ",\n  \"in_place\": " << (h.in_place ? "true" : "false") << ",\n  \"patch_grid\": " << h.patch_grid
    << ",\n  \"peak_sram_bytes\": " << r.peak_sram_bytes << ",\n  \"arena_bytes\": " << r.arena_bytes
    << ",\n  \"lower_bound_bytes\": " << plan.lower_bound_bytes << ",\n  \"arena_lower_bound_ratio\": " << ratio
    << ",\n  \"trainable_sram_bytes\": " << r.trainable_sram_bytes << ",\n  \"flash_bytes\": " << r.flash_bytes;
  if (budget_bytes >= 0)
    o << ",\n  \"budget_bytes\": " << budget_bytes << ",\n  \"fits\": "
      << (r.peak_sram_bytes <= budget_bytes ? "true" : "false");
  o << ",\n  \"sram\": {\"arena\": " << r.arena_bytes << ", \"arena_named_scratch\": " << r.arena_scratch_bytes
    << ", \"kernel_scratch\": " << r.kernel_scratch_bytes << ", \"trainable_weights\": " << r.trainable_weight_bytes
    << ", \"trainable_biases\": " << r.trainable_bias_bytes << ", \"master_copies\": " << r.master_bytes
    << ", \"momentum\": " << r.momentum_bytes << ", \"gradient_buffers\": " << r.gradient_buffer_bytes
    << ", \"head\": " << r.head_bytes << ", \"other_state\": " << r.other_state_bytes
    << ", \"state\": " << r.state_bytes << ", \"reserve\": " << r.reserve_bytes << "}";
  o << ",\n  \"arena_at_peak\": {";
  for (int k = 0; k < 5; ++k)
    o << (k ? ", " : "") << "\"" << TensorKindName(static_cast<TensorKind>(k)) << "\": " << r.peak_live_by_kind[k];
  o << "}";
  o << ",\n  \"flash\": {\"frozen_weights\": " << r.frozen_weight_bytes << ", \"frozen_biases\": "
    << r.frozen_bias_bytes << ", \"scales\": " << r.scale_bytes << ", \"channel_tables\": " << r.table_bytes
    << ", \"other\": " << r.other_flash_bytes << ", \"state_init\": " << r.state_init_bytes
    << ", \"code_estimate\": " << r.code_bytes << "}";
  o << ",\n  \"plan\": {\"heuristic\": " << JsonString(HeuristicName(plan.heuristic))
    << ", \"no_reuse_bytes\": " << plan.no_reuse_bytes << ", \"peak_op\": " << plan.peak_op
    << ", \"peak_op_label\": " << JsonString(plan.peak_op_label) << ", \"ops\": " << prog.ops.size()
    << ", \"forward_live_peak_bytes\": " << PhasePeaks(prog, plan).first
    << ", \"backward_live_peak_bytes\": " << PhasePeaks(prog, plan).second
    << ", \"tried\": {";
  for (size_t i = 0; i < plan.tried.size(); ++i)
    o << (i ? ", " : "") << JsonString(HeuristicName(plan.tried[i].heuristic)) << ": " << plan.tried[i].arena_bytes;
  o << "}}";
  o << ",\n  \"largest_sram_users\": [";
  for (size_t i = 0; i < r.largest.size(); ++i)
    o << (i ? ", " : "") << "{\"name\": " << JsonString(r.largest[i].name) << ", \"bytes\": " << r.largest[i].bytes
      << "}";
  o << "]\n}\n";
  return o.str();
}

}  // namespace tte
