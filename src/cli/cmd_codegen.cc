// `tte codegen`: compiles a model and scheme for the device (patch grid chosen automatically), plans and
// checks the arena, refuses before writing anything when the planned peak SRAM exceeds --budget (naming the
// largest SRAM users), takes N samples from a real dataset and writes a self-contained C99 firmware project
// (src/codegen/project.h) atomically. Also the option set and preparation shared with `tte mcu-run`.
#include "cli/cmd_codegen.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "cli/commands.h"
#include "core/file_io.h"
#include "core/byte_size.h"
#include "codegen/library_emitter.h"
#include "runtime/export.h"
#include "runtime/replay.h"

namespace tte::cli {

void DeviceCmd::Add(CLI::App* c) {
  c->add_option("--model", model, "Model file (.pkl or .tflite)")->required();
  scheme.Add(c);
  compile.Add(c, /*device_command=*/true);
  c->add_option("--budget", budget,
                "SRAM budget (e.g. 256KB, 320K): the plan must fit it or nothing is generated; it is also the "
                "linker script's RAM region")
      ->capture_default_str();
  c->add_option("--reserve", reserve, "Stack reserved in SRAM (planned, and the firmware's STACK_SIZE)")
      ->capture_default_str();
  c->add_option("--samples", samples, "Training steps = samples embedded in flash (the first N of the dataset)")
      ->capture_default_str();
  data.Add(c, "test", /*with_max_samples=*/false);
  c->add_option("--lr", lr, "Learning rate (fixed, every step)")->capture_default_str();
  std::string help = "Core of the firmware build and its QEMU board:";
  std::vector<std::string> names;
  for (const codegen::TargetCore& k : codegen::kTargetCores) {
    help += std::string(names.empty() ? " " : ", ") + k.cpu + " (" + k.board + ": " + k.features + ")";
    names.push_back(k.cpu);
  }
  help += ". Cores without the DSP extension run the portable kernels, without an FPU fp32 in software";
  c->add_option("--cpu", cpu, help)->check(CLI::IsMember(names))->capture_default_str();
  c->add_option("--rng-seed", rng_seed,
                "Stochastic-rounding seed (xorshift32 state; default: derived from --seed as `tte train` does)");
}

int DeviceFail(const std::string& cmd, const Status& s) {
  Fail(cmd, s);
  return s.code() == StatusCode::kOutOfMemory ? kExitBudget : kExitError;
}

std::string ThisCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char ch : raw) {
    if (ch == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  if (args.empty()) return "tte";
  args[0] = "tte";
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return codegen::CommandLine(static_cast<int>(argv.size()), argv.data());
}

Result<PreparedDevice> PrepareDevice(const DeviceCmd& o) {
  PreparedDevice d;
  TTE_ASSIGN_OR_RETURN(d.budget_bytes, ParseByteSize(o.budget));
  if (o.reserve == "0") {
    d.reserve_bytes = 0;
  } else {
    TTE_ASSIGN_OR_RETURN(d.reserve_bytes, ParseByteSize(o.reserve));
  }
  if (o.samples < 1 || o.samples > 100000) return InvalidArgument("--samples: expected 1..100000");
  TTE_ASSIGN_OR_RETURN(d.model, LoadModelOrExplain(o.model, o.compile.resolution));
  TTE_ASSIGN_OR_RETURN(Scheme scheme, o.scheme.Load(o.model));
  DataOptions data = o.data;
  data.max_samples = o.samples;
  TTE_ASSIGN_OR_RETURN(DatasetSpec spec, data.Spec());
  TTE_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> dataset, OpenDataset(spec));
  const int classes = dataset->num_classes();
  TTE_ASSIGN_OR_RETURN(TrainOptions opt, o.compile.Options(classes));
  if (!o.compile.new_head) HeadFromGraph(d.model.graph, classes, &opt.head_weight, &opt.head_bias,
                                           o.compile.keep_classifier);
  TTE_ASSIGN_OR_RETURN(const int grid, o.compile.PatchGrid());
  TTE_ASSIGN_OR_RETURN(d.program, codegen::CompileDeviceProgram(d.model.graph, scheme, opt, grid, d.budget_bytes,
                                                                d.reserve_bytes));
  TTE_ASSIGN_OR_RETURN(d.samples, codegen::TakeSamples(*dataset, spec, o.samples, SampleFormatOf(d.model.graph.input_spec)));
  d.model_name = FileStem(o.model);
  d.scheme_name = d.program.device.compiled.scheme.name;

  codegen::ProjectConfig& c = d.config;
  c.info.generated_by = "tte 0.1.0";
  c.info.command = ThisCommandLine();
  c.info.model = o.model + " (" + d.model_name + ")";
  c.info.scheme = d.scheme_name + (o.scheme.scheme_name.empty() ? "" : " from " + o.scheme.scheme) +
                  ", patches " + (d.program.patch_grid ? std::to_string(d.program.patch_grid) + "x" +
                                                            std::to_string(d.program.patch_grid)
                                                      : std::string("off"));
  c.info.lr = o.lr;
  const ir::InputSpec& in = d.model.graph.input_spec;
  c.info.input_scale = in.scale;
  c.info.input_zero = in.zero;
  c.info.input_pixels_minus_128 = in.pixels == ir::PixelRule::kMinus128;
  c.info.input_source_nhwc = in.source_nhwc;
  c.info.rng_seed = o.rng_seed >= 0 ? static_cast<uint32_t>(o.rng_seed)
                                    : static_cast<uint32_t>(o.compile.seed * 2654435761u + 12345u) | 1u;
  if (c.info.rng_seed == 0) c.info.rng_seed = 1;
  c.samples = d.samples.data;
  c.labels = d.samples.labels;
  c.samples_source = d.samples.source;
  c.ram_budget = d.budget_bytes;
  c.cpu = o.cpu;
  c.stack_bytes = d.reserve_bytes > 0 ? d.reserve_bytes : 8 * 1024;
  const MemoryReport& r = d.program.memory;
  char extra[512];
  std::snprintf(extra, sizeof extra,
                "{\"planned_peak_sram_bytes\": %lld, \"planned_state_bytes\": %lld, \"lower_bound_bytes\": %lld, "
                "\"reserve_bytes\": %lld, \"patch_grid\": %d, \"planned_flash_bytes\": %lld}",
                static_cast<long long>(r.peak_sram_bytes), static_cast<long long>(r.state_bytes),
                static_cast<long long>(d.program.device.plan.lower_bound_bytes),
                static_cast<long long>(r.reserve_bytes), d.program.patch_grid, static_cast<long long>(r.flash_bytes));
  c.manifest_extra = extra;
  return d;
}

namespace {

struct CodegenCmd {
  DeviceCmd device;
  std::string out;
  std::string target = "qemu";
  std::string prefix = "tte";
  std::string frames;  // --target library: write the samples as a run-time frame stream
};

int RunLibrary(const CodegenCmd& o, const PreparedDevice& d) {
  const Program& prog = d.program.device.compiled.program;
  codegen::LibraryConfig lc;
  lc.info = d.config.info;
  lc.prefix = o.prefix;
  lc.manifest_extra = d.config.manifest_extra;
  auto lib = codegen::GenerateLibrary(prog, d.program.device.plan, lc);
  if (!lib.ok()) return DeviceFail("codegen", lib.status());
  if (Status st = codegen::WriteLibrary(*lib, o.out); !st.ok()) return DeviceFail("codegen", st);
  const MemoryReport& r = d.program.memory;
  std::printf("tte codegen: library %s_model.{h,c}: %s / %s @%d -> %s\n", o.prefix.c_str(), d.model_name.c_str(),
              d.scheme_name.c_str(), prog.resolution, o.out.c_str());
  std::printf("  SRAM: arena %s + learned state %s (%lld B block) + stack %s = planned peak %s of the %s budget\n",
              FormatBytes(r.arena_bytes).c_str(), FormatBytes(r.state_bytes).c_str(),
              static_cast<long long>(lib->state_bytes), FormatBytes(r.reserve_bytes).c_str(),
              FormatBytes(r.peak_sram_bytes).c_str(), FormatBytes(d.budget_bytes).c_str());
  std::printf("  flash data %s; fingerprint 0x%016llx; lr %g, rounding seed %u\n",
              FormatBytes(lib->flash_data_bytes).c_str(), static_cast<unsigned long long>(lib->fingerprint),
              static_cast<double>(d.config.info.lr), d.config.info.rng_seed);
  if (!o.frames.empty()) {
    // The samples as the example firmware's run-time stream: [int32 label LE][frame bytes] per record, and
    // the host replay of training on them (what the firmware must reach, bit for bit).
    const size_t in = static_cast<size_t>(prog.tensors[prog.input].bytes());
    std::string bytes;
    for (size_t i = 0; i < d.samples.labels.size(); ++i) {
      const uint32_t l = static_cast<uint32_t>(d.samples.labels[i]);
      for (int b = 0; b < 4; ++b) bytes += static_cast<char>((l >> (8 * b)) & 0xff);
      bytes.append(reinterpret_cast<const char*>(d.samples.data.data() + i * in), in);
    }
    if (Status st = WriteFileAtomic(o.frames, bytes); !st.ok()) return DeviceFail("codegen", st);
    ReplayOptions ro;
    ro.lr = d.config.info.lr;
    ro.rng_seed = d.config.info.rng_seed;
    auto host = ReplayTraining(prog, d.program.device.plan.arena_bytes, d.samples.data, d.samples.labels, ro);
    if (!host.ok()) return DeviceFail("codegen", host.status());
    std::printf("  frames: %zu records of %zu B -> %s; host replay: checksum=%016llx after all of them\n",
                d.samples.labels.size(), 4 + in, o.frames.c_str(), static_cast<unsigned long long>(host->checksum));
  }
  return kExitOk;
}

int RunCodegen(const CodegenCmd& o) {
  auto d = PrepareDevice(o.device);
  if (!d.ok()) return DeviceFail("codegen", d.status());
  if (o.target == "library") return RunLibrary(o, *d);
  const Program& prog = d->program.device.compiled.program;
  auto project = codegen::GenerateProject(prog, d->program.device.plan, d->config);
  if (!project.ok()) return DeviceFail("codegen", project.status());
  if (Status st = codegen::WriteProject(*project, o.out); !st.ok()) return DeviceFail("codegen", st);
  const MemoryReport& r = d->program.memory;
  std::printf("tte codegen: %s / %s @%d -> %s\n", d->model_name.c_str(), d->scheme_name.c_str(), prog.resolution,
              o.out.c_str());
  std::printf("  %zu ops (%zu forward), patches %s, %zu samples (%s), lr %g, rounding seed %u\n", prog.ops.size(),
              project->model.forward_ops,
              d->program.patch_grid ? (std::to_string(d->program.patch_grid) + "x" +
                                       std::to_string(d->program.patch_grid)).c_str()
                                    : "off",
              d->samples.labels.size(), d->samples.source.c_str(), static_cast<double>(d->config.info.lr),
              d->config.info.rng_seed);
  std::printf("  planned peak SRAM %s (arena %s + state %s + stack %s) of the %s budget\n",
              FormatBytes(r.peak_sram_bytes).c_str(), FormatBytes(r.arena_bytes).c_str(),
              FormatBytes(r.state_bytes).c_str(), FormatBytes(r.reserve_bytes).c_str(),
              FormatBytes(d->budget_bytes).c_str());
  std::printf("  flash: model data %s + samples %s, FLASH_BUDGET %s (estimate %s)\n",
              FormatBytes(project->model.flash_data_bytes + project->model.state_init_bytes).c_str(),
              FormatBytes(project->sample_bytes).c_str(), FormatBytes(project->flash_budget).c_str(),
              FormatBytes(project->flash_estimate).c_str());
  std::printf("  build and run: make -C %s && %s/tools/run_firmware.sh -f %s/Makefile\n", o.out.c_str(),
              o.out.c_str(), o.out.c_str());
  return kExitOk;
}

}  // namespace

void AddCodegenCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<CodegenCmd>();
  CLI::App* c = app.add_subcommand(
      "codegen",
      "Generate a C99 firmware project that trains the model on the device (Cortex-M7, QEMU mps2-an500; other\n"
      "cores with --cpu).\n"
      "Exit status: 0 ok, 2 usage, 4 over the SRAM budget (nothing written), 8 other errors.");
  o->device.Add(c);
  c->add_option("--out", o->out, "Output directory (written atomically; replaces a previous tte project)")->required();
  c->add_option("--target", o->target,
                "qemu: the training firmware for QEMU (mps2-an500, or the --cpu's board; harness, samples in flash); library: "
                "PREFIX_model.h/.c + kernels for your firmware (no harness; docs/firmware-library.md)")
      ->check(CLI::IsMember({"qemu", "library"}))
      ->capture_default_str();
  c->add_option("--frames", o->frames,
                "--target library: also write the --samples as a frame stream FILE ([int32 label][frame] per record) "
                "for firmware/examples/library_example.c, and print the host replay's state checksum after them");
  c->add_option("--prefix", o->prefix, "--target library: prefix of every public symbol and macro (kws -> kws_init)")
      ->capture_default_str();
  c->callback([o, exit_code] { *exit_code = RunCodegen(*o); });
}

}  // namespace tte::cli
