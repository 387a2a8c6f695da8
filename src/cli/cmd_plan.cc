// `tte plan`: compiles the training program of a model and scheme, plans its arena, and prints what a
// device running it holds: the SRAM breakdown (arena, trainable slices, biases, masters, momentum,
// gradient buffers, head, reserve), flash (frozen weights, biases, scales, tables, code estimate), the
// lower bound of any arena plan, the ratio, the winning heuristic and the peak op. With --budget it fails
// (exit 1) naming what does not fit; --json prints the same as JSON; --svg draws the plan over the schedule.
// Like the other device commands (codegen, mcu-run), it plans the program a device runs (CompileForDevice):
// by default every patch grid of the frozen prefix is tried (--patches auto) and the one with the least SRAM
// is reported; --patches N fixes the grid (0 = off). --auto-patches is the same as --patches auto.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "memory/device_compile.h"
#include "core/file_io.h"
#include "memory/plan_checker.h"
#include "cli/plan_svg.h"
#include "memory/planner.h"
#include "cli/plan_report.h"
#include "memory/sram.h"

namespace tte::cli {
namespace {

struct PlanCmd {
  std::string model;
  SchemeOptions scheme;
  CompileOptions compile;
  int num_classes = 10;
  std::string budget, svg, reserve = "8K";
  bool json = false;
  bool auto_patches = false;
};

int RunPlan(const PlanCmd& o) {
  int64_t budget = -1;
  if (!o.budget.empty()) {
    auto b = ParseByteSize(o.budget);
    if (!b.ok()) return Fail("plan", b.status().WithContext("--budget"));
    budget = *b;
  }
  auto reserve = ParseByteSize(o.reserve);
  if (!reserve.ok() && o.reserve != "0") return Fail("plan", reserve.status().WithContext("--reserve"));
  auto m = LoadModelOrExplain(o.model, o.compile.resolution);
  if (!m.ok()) return Fail("plan", m.status());
  auto s = o.scheme.Load(o.model);
  if (!s.ok()) return Fail("plan", s.status());
  auto opt = o.compile.Options(o.num_classes);
  if (!opt.ok()) return Fail("plan", opt.status());
  auto grid = o.compile.PatchGrid();
  if (!grid.ok()) return Fail("plan", grid.status());
  auto dev = CompileForDevice(m->graph, *s, *opt, o.auto_patches ? -1 : *grid);
  if (!dev.ok()) return Fail("plan", dev.status());
  const CompiledTraining* ct = &dev->compiled;
  Program& prog = dev->compiled.program;
  Result<MemoryPlan> plan = dev->plan;
  if (Status st = CheckPlan(prog, *plan); !st.ok()) return Fail("plan", st);

  AccountingOptions ao;
  ao.reserve_bytes = reserve.ok() ? *reserve : 0;
  const MemoryReport r = AccountMemory(prog, *plan, ao);
  ReportHeader h;
  h.model = FileStem(o.model);
  h.scheme = ct->scheme.name;
  h.resolution = prog.resolution;
  h.fused = opt->fuse_updates;
  h.in_place = opt->in_place;
  h.patch_grid = ct->patch.grid;
  h.patch_split_conv = ct->patch.split_conv;
  for (const auto& [grid, bytes] : dev->tried) h.patch_tried.emplace_back(grid, bytes);

  if (!o.svg.empty()) {
    const std::string scheme =
        h.scheme.rfind(h.model + "/", 0) == 0 ? h.scheme.substr(h.model.size() + 1) : h.scheme;
    const std::string title = h.model + " / " + scheme + " @" + std::to_string(h.resolution) +
                              (h.fused ? " (reordered)" : " (no reordering)");
    if (Status st = WriteFileAtomic(o.svg, PlanToSvg(prog, *plan, title)); !st.ok()) return Fail("plan", st);
  }
  if (o.json) {
    std::printf("%s", MemoryReportJson(h, prog, *plan, r, budget).c_str());
  } else {
    std::printf("%s", MemoryReportText(h, prog, *plan, r).c_str());
    if (budget >= 0 && r.peak_sram_bytes <= budget)
      std::printf("\nbudget %s: fits, %s free\n", FormatKb(budget).c_str(),
                  FormatKb(budget - r.peak_sram_bytes).c_str());
  }
  std::fflush(stdout);
  if (budget >= 0) {
    Status st = CheckBudget(r, budget);
    if (!st.ok()) return Fail("plan", st.WithContext(h.model + " / " + h.scheme));
  }
  return 0;
}

}  // namespace

void AddPlanCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<PlanCmd>();
  CLI::App* c = app.add_subcommand(
      "plan", "Plan the arena of a training program and report SRAM/flash use (fails over --budget)");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  o->scheme.Add(c);
  o->compile.Add(c, /*device_command=*/true);
  c->add_option("--num-classes", o->num_classes, "Classes of the new head")->capture_default_str();
  c->add_option("--budget", o->budget, "SRAM budget, e.g. 256KB, 256K, 262144, 0.25MB (K = 1024 B): exit 1 if exceeded");
  c->add_option("--reserve", o->reserve, "Stack/runtime reserve counted in SRAM (firmware STACK_SIZE)")
      ->capture_default_str();
  c->add_flag("--json", o->json, "Print the report as JSON");
  c->add_option("--svg", o->svg, "Write the plan over the schedule as an SVG picture to FILE");
  c->add_flag("--auto-patches", o->auto_patches, "Same as --patches auto (the default)");
  c->callback([o, exit_code] { *exit_code = RunPlan(*o); });
}

}  // namespace tte::cli
