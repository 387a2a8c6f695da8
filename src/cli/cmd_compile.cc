// `tte compile`: builds the training program for a model and a sparse-update scheme and prints it in a
// stable text form (tensors, ops with the reason each exists, per-op counts, trained parameters), so a
// reader can check what was pruned.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"

namespace tte::cli {
namespace {

struct CompileCmd {
  std::string model;
  SchemeOptions scheme;
  CompileOptions compile;
  int num_classes = 10;
  bool no_tensors = false;
};

int RunCompile(const CompileCmd& o) {
  auto m = LoadModelOrExplain(o.model, o.compile.resolution);
  if (!m.ok()) return Fail("compile", m.status());
  auto s = o.scheme.Load(o.model);
  if (!s.ok()) return Fail("compile", s.status());
  auto opt = o.compile.Options(o.num_classes);
  if (!opt.ok()) return Fail("compile", opt.status());
  auto ct = CompileTraining(m->graph, *s, *opt);
  if (!ct.ok()) return Fail("compile", ct.status());
  std::printf("model: %s\nscheme: %s\n", o.model.c_str(), ct->scheme.name.c_str());
  std::printf("%s", ProgramToText(ct->program, !o.no_tensors).c_str());
  return 0;
}

}  // namespace

void AddCompileCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<CompileCmd>();
  CLI::App* c = app.add_subcommand("compile", "Compile the training program for a model and scheme, and print it");
  c->add_option("--model", o->model, "Model file (.pkl or .tflite)")->required();
  o->scheme.Add(c);
  o->compile.Add(c);
  c->add_option("--num-classes", o->num_classes, "Classes of the new head")->capture_default_str();
  c->add_flag("--no-tensors", o->no_tensors, "Print only ops and counts");
  c->callback([o, exit_code] { *exit_code = RunCompile(*o); });
}

}  // namespace tte::cli
