// `tte mcu-run`: the whole device chain in one command. Generates the firmware project (as `tte codegen`,
// into a temporary directory or --keep DIR), replays the same steps on the host Executor, cross-compiles with
// arm-none-eabi-gcc inside the link-time SRAM budget, runs under QEMU mps2-an500 (or the board of --cpu)
// with exact instruction counting, and compares the MCU's losses and state checksum with the host's bit for
// bit. Prints a report (or --json): flash and SRAM from arm-none-eabi-size, the planned peak, instructions per
// step beside the paper's measured STM32F746 latency, the loss curve, stack/heap high water, and the parity
// verdict.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/cmd_codegen.h"
#include "cli/commands.h"
#include "codegen/firmware_run.h"
#include "compiler/kernel_args.h"
#include "core/byte_size.h"
#include "runtime/replay.h"

namespace tte::cli {
namespace {

namespace fs = std::filesystem;

struct McuRunCmd {
  DeviceCmd device;
  std::string keep, plugin;
  int timeout = 600;
  bool json = false;
  bool profile = false;
};

// Instructions of one training step by op (a profile build: mcu_mark() before every op; firmware_run.h).
struct OpProfile {
  std::vector<int64_t> insns;                           // by op
  nlohmann::json ops = nlohmann::json::array();         // by op, with its work (OpWork)
  std::vector<std::pair<std::string, int64_t>> kinds;  // by op kind, descending
  int64_t forward = 0, backward = 0, total = 0;
};

std::string OpKind(const Program& P, const Op& op) {
  std::string k = OpCodeName(op.code);
  const bool conv = op.code == OpCode::kConv || op.code == OpCode::kConvBackwardInput ||
                    op.code == OpCode::kConvWeightGrad;
  if (conv && op.conv >= 0) {
    const ConvBinding& b = P.convs[op.conv];
    k += b.depthwise ? " depthwise" : b.fully_connected ? " fully connected"
         : b.kh == 1 && b.kw == 1 ? " pointwise" : " " + std::to_string(b.kh) + "x" + std::to_string(b.kw);
    if (op.windowed) k += " (patch)";
    if (op.in_place) k += " (in place)";
  }
  return k;
}

// The work of op i for instructions-per-unit tables (bench/kernel_speed.py): the multiply-accumulates of conv
// ops (forward over the op's output window; the input gradient and weight gradient over the whole tensors, the
// latter for the trainable rows only), the elements of every op (its first output, else its first input), and
// the conv geometry. Zeros where the op has no such thing.
nlohmann::json OpWork(const Program& P, size_t i, int64_t insns) {
  const Op& op = P.ops[i];
  nlohmann::json j = {{"op", i}, {"code", OpCodeName(op.code)}, {"kind", OpKind(P, op)}, {"insns", insns},
                      {"phase", op.phase == Phase::kForward ? "forward" : "backward"}};
  const int t = !op.outs.empty() && op.outs[0] >= 0 ? op.outs[0] : !op.ins.empty() ? op.ins[0] : -1;
  j["elements"] = t >= 0 ? P.tensors[static_cast<size_t>(t)].numel() : 0;
  int64_t macs = 0;
  if (op.conv >= 0 && (op.code == OpCode::kConv || op.code == OpCode::kConvBackwardInput ||
                       op.code == OpCode::kConvWeightGrad)) {
    auto a = KernelArgsOf(P, i);
    if (a.ok()) {
      const tte_conv_params& c = a->conv;
      const int64_t kk = static_cast<int64_t>(c.kh) * c.kw, ipg = c.cin / c.groups;
      const int64_t out = static_cast<int64_t>(c.out.h) * c.out.w;
      if (op.code == OpCode::kConvWeightGrad)
        macs = (c.depthwise ? a->n : c.groups == 1 ? static_cast<int64_t>(c.cout) * a->n : c.cout * ipg) * kk * out;
      else
        macs = c.cout * out * ipg * kk;
      j["layer"] = P.convs[static_cast<size_t>(op.conv)].name;
      j["conv"] = {{"cin", c.cin}, {"cout", c.cout}, {"groups", c.groups}, {"kh", c.kh}, {"kw", c.kw},
                   {"sh", c.sh}, {"sw", c.sw}, {"in_h", c.in_h}, {"in_w", c.in_w}, {"out_h", c.out.h},
                   {"out_w", c.out.w}, {"trained_rows", a->n}};
    }
  }
  j["macs"] = macs;
  return j;
}

// Builds and runs the profile variant of the project (one step on the first sample) in `dir`.
Result<OpProfile> ProfileOps(const Program& P, const MemoryPlan& plan, codegen::ProjectConfig config,
                             const std::string& dir, const codegen::FirmwareOptions& base) {
  config.info.profile_ops = true;
  config.samples.resize(config.samples.size() / config.labels.size());
  config.labels.resize(1);
  TTE_ASSIGN_OR_RETURN(codegen::Project project, codegen::GenerateProject(P, plan, config));
  TTE_RETURN_IF_ERROR(codegen::WriteProject(project, dir));
  codegen::FirmwareOptions fo = base;
  fo.project_dir = dir;
  TTE_ASSIGN_OR_RETURN(codegen::FirmwareRun r, codegen::BuildAndRunFirmware(fo));
  const size_t n = P.ops.size();
  if (r.exit_status != 0 || r.mark_deltas.size() != n + 2)
    return Internal("the profile build (" + dir + ") gave " + std::to_string(r.mark_deltas.size()) + " marks for " +
                    std::to_string(n) + " ops, exit status " + std::to_string(r.exit_status) + ":\n" + r.output);
  OpProfile p;
  std::map<std::string, int64_t> kinds;
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = r.mark_deltas[i + 2];
    p.insns.push_back(v);
    p.ops.push_back(OpWork(P, i, v));
    kinds[OpKind(P, P.ops[i])] += v;
    (P.ops[i].phase == Phase::kForward ? p.forward : p.backward) += v;
    p.total += v;
  }
  p.kinds.assign(kinds.begin(), kinds.end());
  std::sort(p.kinds.begin(), p.kinds.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return p;
}

// PEERS.md section 1 (Fig. 10): TTE's measured training latency with sparse update on the STM32F746 at 216 MHz.
struct PaperLatency {
  const char* model;
  const char* match;
  double ms;
};
constexpr PaperLatency kPaper[] = {{"MbV2-w0.35", "mbv2", 373}, {"Proxyless-w0.3", "proxyless", 443},
                                   {"MCUNet-5FPS", "mcunet", 546}};
double Cycles(double ms) { return ms * 216e3; }

std::string Hex16(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::string Millions(int64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f M", static_cast<double>(v) / 1e6);
  return b;
}

int64_t Median(std::vector<int64_t> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Lines of the build output worth showing when it fails: errors, the overflowing region, the fw: summary.
std::string BuildErrors(const std::string& out) {
  std::istringstream in(out);
  std::string line, picked;
  int n = 0;
  while (std::getline(in, line))
    if ((line.find("error") != std::string::npos || line.find("overflow") != std::string::npos ||
         line.find("will not fit") != std::string::npos || line.rfind("fw:", 0) == 0) &&
        n++ < 40)
      picked += "  " + line + "\n";
  return picked.empty() ? out : picked;
}

int RunMcu(const McuRunCmd& o) {
  auto d = PrepareDevice(o.device);
  if (!d.ok()) return DeviceFail("mcu-run", d.status());
  const Program& prog = d->program.device.compiled.program;
  const MemoryPlan& plan = d->program.device.plan;
  auto project = codegen::GenerateProject(prog, plan, d->config);
  if (!project.ok()) return DeviceFail("mcu-run", project.status());

  // The project directory: --keep DIR, or a temporary one removed at the end.
  std::string dir = o.keep, tmp;
  if (dir.empty()) {
    std::string templ = (fs::temp_directory_path() / "tte-mcu-run-XXXXXX").string();
    if (!mkdtemp(templ.data())) return Fail("mcu-run", DataLoss("cannot create a temporary directory")), kExitError;
    tmp = templ;
    dir = tmp + "/project";
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      if (!path.empty()) fs::remove_all(path, ec);
    }
  } cleanup{tmp};
  dir = fs::absolute(dir).string();
  if (dir.find_first_of(" \t\n'\"") != std::string::npos)
    return Fail("mcu-run", InvalidArgument("project directory '" + dir +
                                           "': the firmware Makefile cannot handle spaces or quotes in paths")),
           kExitError;
  if (Status st = codegen::WriteProject(*project, dir); !st.ok()) return DeviceFail("mcu-run", st);

  ReplayOptions ro;
  ro.lr = d->config.info.lr;
  ro.rng_seed = d->config.info.rng_seed;
  auto host = ReplayTraining(prog, plan.arena_bytes, d->samples.data, d->samples.labels, ro);
  if (!host.ok()) return DeviceFail("mcu-run", host.status());

  if (Status st = codegen::CheckFirmwareTools(dir); !st.ok()) return Fail("mcu-run", st), kExitTools;
  auto plugin = codegen::FindInsnCountPlugin(o.plugin);
  if (!plugin.ok()) return Fail("mcu-run", plugin.status()), kExitTools;
  codegen::FirmwareOptions fo;
  fo.project_dir = dir;
  fo.plugin = *plugin;
  fo.timeout_seconds = o.timeout;
  auto run = codegen::BuildAndRunFirmware(fo);
  if (!run.ok()) return Fail("mcu-run", run.status()), kExitError;
  const codegen::FirmwareRun& r = *run;

  if (r.exit_status == 125 || !r.built) {
    std::fprintf(stderr, "tte mcu-run: error: the firmware did not build or link (RAM_BUDGET=%lld):\n%s",
                 static_cast<long long>(d->budget_bytes), BuildErrors(r.output).c_str());
    return kExitBuild;
  }
  if (r.exit_status == 127) return Fail("mcu-run", NotFound("a firmware tool is missing:\n" + r.output)), kExitTools;
  if (r.exit_status == 124) {
    std::fprintf(stderr, "tte mcu-run: error: QEMU did not finish within %d s (--timeout); %zu of %zu steps ran\n",
                 o.timeout, r.steps.size(), d->samples.labels.size());
    return kExitTimeout;
  }
  if (r.exit_status == 3 || !r.fault.empty()) {
    std::string where;
    const size_t pc = r.fault.find("pc=");
    if (pc != std::string::npos) {
      std::string out;
      codegen::RunShell("arm-none-eabi-addr2line -f -e " + codegen::ShellQuote(r.elf) + " " +
                            r.fault.substr(pc + 3, r.fault.find(' ', pc) - pc - 3),
                        &out);
      where = out;
    }
    std::fprintf(stderr, "tte mcu-run: error: the firmware faulted in QEMU after %zu steps:\n  %s\n%s", r.steps.size(),
                 r.fault.c_str(), where.c_str());
    return kExitFault;
  }
  if (r.exit_status != 0)
    return Fail("mcu-run", Internal("the firmware exited with status " + std::to_string(r.exit_status) + ":\n" +
                                    r.output)),
           kExitError;

  // ---- parity
  const size_t n = d->samples.labels.size();
  std::vector<std::string> problems;
  if (r.steps.size() != n)
    problems.push_back("the MCU printed " + std::to_string(r.steps.size()) + " steps, expected " + std::to_string(n));
  for (size_t i = 0; i < std::min(n, r.steps.size()); ++i) {
    uint32_t hb;
    std::memcpy(&hb, &host->losses[i], sizeof hb);
    if (r.steps[i].loss_bits != hb)
      problems.push_back("step " + std::to_string(i) + ": loss MCU " + std::to_string(r.steps[i].loss) + " != host " +
                         std::to_string(host->losses[i]));
    if (r.steps[i].skipped != host->skipped[i])
      problems.push_back("step " + std::to_string(i) + ": skipped (non-finite loss) on " +
                         (r.steps[i].skipped ? "the MCU only" : "the host only"));
  }
  if (!r.has_initial_checksum || r.checksum_initial != host->initial_checksum)
    problems.push_back("initial state checksum MCU " + Hex16(r.checksum_initial) + " != host " +
                       Hex16(host->initial_checksum));
  if (!r.has_checksum || r.checksum != host->checksum)
    problems.push_back("state checksum MCU " + (r.has_checksum ? Hex16(r.checksum) : std::string("(none)")) +
                       " != host " + Hex16(host->checksum));
  const bool parity = problems.empty();

  std::optional<OpProfile> profile;
  if (o.profile) {
    auto pr = ProfileOps(prog, plan, d->config, tmp.empty() ? dir + ".profile" : tmp + "/profile", fo);
    if (!pr.ok()) return Fail("mcu-run", pr.status()), kExitError;
    profile = std::move(*pr);
  }

  std::vector<int64_t> steady;
  for (size_t i = 1; i < r.steps.size(); ++i)
    if (r.steps[i].insns >= 0) steady.push_back(r.steps[i].insns);
  const int64_t first = r.steps.empty() ? -1 : r.steps[0].insns;
  const int64_t steady_insns = steady.empty() ? first : Median(steady);
  const MemoryReport& m = d->program.memory;
  const int64_t flash_no_samples = r.sample_flash_bytes >= 0 ? r.flash_used - r.sample_flash_bytes : -1;
  const PaperLatency* paper = nullptr;
  for (const PaperLatency& p : kPaper)
    if (d->model_name.find(p.match) != std::string::npos) paper = &p;

  if (o.json) {
    nlohmann::json j;
    j["model"] = d->model_name;
    j["cpu"] = o.device.cpu;
    if (const codegen::TargetCore* core = codegen::FindTargetCore(o.device.cpu)) j["board"] = core->board;
    j["scheme"] = d->scheme_name;
    j["resolution"] = prog.resolution;
    j["patch_grid"] = d->program.patch_grid;
    j["steps"] = n;
    j["lr"] = d->config.info.lr;
    j["rng_seed"] = d->config.info.rng_seed;
    j["planned_peak_sram_bytes"] = m.peak_sram_bytes;
    j["arena_bytes"] = m.arena_bytes;
    j["state_bytes"] = m.state_bytes;
    j["reserve_bytes"] = m.reserve_bytes;
    j["budget_bytes"] = d->budget_bytes;
    j["link_ram_bytes"] = r.ram_used;
    j["link_ram_budget_bytes"] = r.ram_budget;
    j["flash_bytes"] = r.flash_used;
    j["flash_bytes_without_samples"] = flash_no_samples;
    j["flash_budget_bytes"] = r.flash_budget;
    j["text"] = r.text;
    j["data"] = r.data;
    j["bss"] = r.bss;
    j["stack_used_bytes"] = r.stack_used;
    j["stack_size_bytes"] = r.stack_size;
    j["heap_used_bytes"] = r.heap_used;
    j["heap_size_bytes"] = r.heap_size;
    j["insns_first_step"] = first;
    j["insns_steady_step"] = steady_insns;
    j["insns_total"] = r.total_insns;
    nlohmann::json steps = nlohmann::json::array();
    for (size_t i = 0; i < r.steps.size(); ++i)
      steps.push_back({{"step", i}, {"label", r.steps[i].label}, {"loss_mcu", r.steps[i].loss},
                       {"loss_host", i < host->losses.size() ? host->losses[i] : 0.0f}, {"insns", r.steps[i].insns}});
    j["per_step"] = steps;
    j["skipped_steps_mcu"] = r.skipped_steps;
    j["checksum_mcu"] = Hex16(r.checksum);
    j["checksum_host"] = Hex16(host->checksum);
    j["parity"] = parity;
    j["problems"] = problems;
    if (paper) j["paper"] = {{"model", paper->model}, {"ms", paper->ms}, {"cycles", Cycles(paper->ms)}};
    if (profile) {
      nlohmann::json kinds = nlohmann::json::object();
      for (const auto& [k, v] : profile->kinds) kinds[k] = v;
      j["profile"] = {{"forward", profile->forward}, {"loss_backward", profile->backward},
                      {"total", profile->total}, {"by_kind", kinds}, {"by_op", profile->insns},
                      {"ops", profile->ops}};
    }
    j["note"] = "instruction counts are not cycles";
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    const codegen::TargetCore* core = codegen::FindTargetCore(o.device.cpu);
    const std::string board = core ? core->board : "?";
    std::printf("tte mcu-run: %s / %s @%d on %s (QEMU %s), %zu steps on %s\n", d->model_name.c_str(),
                d->scheme_name.c_str(), prog.resolution, o.device.cpu.c_str(), board.c_str(), n, d->samples.source.c_str());
    std::printf("  lr %g, stochastic-rounding seed %u, patches %s, project %s%s\n",
                static_cast<double>(d->config.info.lr), d->config.info.rng_seed,
                d->program.patch_grid ? (std::to_string(d->program.patch_grid) + "x" +
                                         std::to_string(d->program.patch_grid)).c_str()
                                      : "off",
                dir.c_str(), tmp.empty() ? "" : " (temporary)");
    std::printf("\nmemory\n");
    std::printf("  %-32s %12s  (arena %s + state %s + stack reserve %s)\n",
                "planned peak SRAM", FormatBytes(m.peak_sram_bytes).c_str(), FormatBytes(m.arena_bytes).c_str(),
                FormatBytes(m.state_bytes).c_str(), FormatBytes(m.reserve_bytes).c_str());
    std::printf("  %-32s %12s  of the %s link-time budget (RAM region)\n",
                "link RAM (stack+data+bss+heap)", FormatBytes(r.ram_used).c_str(), FormatBytes(r.ram_budget).c_str());
    std::printf("  %-32s text %lld, data %lld, bss %lld\n", "arm-none-eabi-size",
                static_cast<long long>(r.text),
                static_cast<long long>(r.data), static_cast<long long>(r.bss));
    std::printf("  %-32s %12s  (without the %s of samples: %s; FLASH_BUDGET %s)\n",
                "flash (text + data)", FormatBytes(r.flash_used).c_str(), FormatBytes(r.sample_flash_bytes).c_str(),
                FormatBytes(flash_no_samples).c_str(), FormatBytes(r.flash_budget).c_str());
    std::printf("  %-32s stack %lld of %lld B, heap %lld of %lld B\n", "high water",
                static_cast<long long>(r.stack_used), static_cast<long long>(r.stack_size),
                static_cast<long long>(r.heap_used), static_cast<long long>(r.heap_size));
    std::printf("\ninstructions per training step (exact, QEMU TCG plugin; instruction counts are NOT cycles)\n");
    std::printf("  first step %s, steady state %s (median of steps 2..%zu), all %zu steps %s\n",
                Millions(first).c_str(), Millions(steady_insns).c_str(), n, n, Millions(r.total_insns).c_str());
    std::printf("  paper, measured on the STM32F746 at 216 MHz (PEERS.md, Fig. 10):");
    for (const PaperLatency& p : kPaper)
      std::printf(" %s %.0f ms = %.0f M cycles%s", p.model, p.ms, Cycles(p.ms) / 1e6, &p == &kPaper[2] ? "" : ";");
    std::printf("\n");
    if (paper)
      std::printf("  this model vs the paper's %s: %.2fx its cycle count, in instructions (an M7 retires up to 2 per "
                  "cycle, minus stalls)\n",
                  paper->model, static_cast<double>(steady_insns) / Cycles(paper->ms));
    if (profile) {
      auto pct = [&](int64_t v) { return profile->total ? 100.0 * static_cast<double>(v) / profile->total : 0.0; };
      std::printf("\nwhere the instructions go (profile build: one step, a mark before every op)\n");
      std::printf("  forward %s (%.1f %%), loss + backward + updates %s (%.1f %%)\n", Millions(profile->forward).c_str(),
                  pct(profile->forward), Millions(profile->backward).c_str(), pct(profile->backward));
      for (const auto& [k, v] : profile->kinds)
        if (pct(v) >= 0.5) std::printf("  %-40s %10s  %5.1f %%\n", k.c_str(), Millions(v).c_str(), pct(v));
      std::vector<size_t> order(profile->insns.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return profile->insns[a] > profile->insns[b]; });
      std::printf("  most expensive ops:");
      for (size_t i = 0; i < std::min<size_t>(5, order.size()); ++i) {
        const Op& op = prog.ops[order[i]];
        std::printf("%s #%zu %s %s %s", i ? ";" : "", order[i], OpCodeName(op.code),
                    op.conv >= 0 ? prog.convs[op.conv].name.c_str() : "", Millions(profile->insns[order[i]]).c_str());
      }
      std::printf("\n");
    }
    std::printf("\nloss curve\n  step label   loss (MCU)   loss (host)  instructions\n");
    for (size_t i = 0; i < r.steps.size(); ++i)
      std::printf("  %4zu %5d %12.6f %13.6f %13lld\n", i, r.steps[i].label, static_cast<double>(r.steps[i].loss),
                  static_cast<double>(i < host->losses.size() ? host->losses[i] : 0.0f),
                  static_cast<long long>(r.steps[i].insns));
    std::printf("\n");
    if (parity)
      std::printf("checksum: MCU = host = %s (every loss bit-identical, initial state %s)\n", Hex16(r.checksum).c_str(),
                  Hex16(r.checksum_initial).c_str());
  }
  std::fflush(stdout);
  if (!parity) {
    std::fprintf(stderr, "\n*** MISMATCH between the MCU and the host (%zu problems) ***\n", problems.size());
    for (const std::string& p : problems) std::fprintf(stderr, "  %s\n", p.c_str());
    if (!o.keep.empty()) std::fprintf(stderr, "project kept in %s\n", o.keep.c_str());
    return kExitMismatch;
  }
  return kExitOk;
}

}  // namespace

void AddMcuRunCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<McuRunCmd>();
  CLI::App* c = app.add_subcommand(
      "mcu-run",
      "Generate, cross-compile and run the training firmware under QEMU (Cortex-M7; other cores with --cpu), and\n"
      "compare it with the host.\n"
      "Exit status: 0 MCU = host, 1 mismatch, 2 usage, 3 fault in QEMU, 4 over the SRAM budget (nothing built),\n"
      "5 build/link failure, 6 timeout, 7 missing tool, 8 other errors.");
  o->device.Add(c);
  c->add_option("--keep", o->keep, "Generate the project into DIR and keep it (default: a temporary directory)");
  c->add_option("--plugin", o->plugin,
                "insncount.so QEMU plugin (default: the one CMake builds next to tte, else built from the project)");
  c->add_option("--timeout", o->timeout, "Seconds before QEMU is stopped")->capture_default_str();
  c->add_flag("--json", o->json, "Print the report as JSON");
  c->add_flag("--profile", o->profile,
              "Also build a profile variant (a mark before every op), run one step, and report instructions by op kind");
  c->callback([o, exit_code] {
    *exit_code = RunMcu(*o);
    // With --json, a failure before the report still gives scripts one JSON object (the message is on stderr).
    if (o->json && *exit_code != kExitOk && *exit_code != kExitMismatch) {
      const char* kind = *exit_code == kExitFault     ? "fault"
                         : *exit_code == kExitBudget  ? "over_budget"
                         : *exit_code == kExitBuild   ? "build_failed"
                         : *exit_code == kExitTimeout ? "timeout"
                         : *exit_code == kExitTools   ? "missing_tool"
                                                      : "error";
      std::printf("%s\n", nlohmann::json({{"exit_code", *exit_code}, {"error", kind}}).dump().c_str());
    }
  });
}

}  // namespace tte::cli
