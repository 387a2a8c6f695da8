// `tte export`: converts a model file to another format. Today: any model tte imports (.pkl, including
// one trained by `tte train` with its head; .tflite) to a TFLite int8 flatbuffer, and a .pkl to .pkl.
// The output format is chosen by the output's extension; docs/export.md says what is kept and how the
// .pkl's arithmetic maps onto TFLite's.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_io.h"
#include "model/pkl_io.h"
#include "runtime/export_tflite.h"

namespace tte::cli {
namespace {

struct ExportCmd {
  std::string model, out;
  int resolution = 0;
};

bool EndsWith(const std::string& s, const std::string& ext) {
  return s.size() > ext.size() && s.compare(s.size() - ext.size(), ext.size(), ext) == 0;
}

int RunExport(const ExportCmd& o) {
  if (!IsTflitePath(o.out) && !EndsWith(o.out, ".pkl"))
    return Fail("export", InvalidArgument(o.out + ": unknown output format: give a file name ending in .tflite or .pkl"));
  auto m = LoadModelOrExplain(o.model, o.resolution);
  if (!m.ok()) return Fail("export", m.status());
  if (IsTflitePath(o.out)) {
    auto e = ExportTflite(m->graph, o.out);
    if (!e.ok()) return Fail("export", e.status());
    Status st = WriteFileAtomic(o.out, e->bytes);
    if (!st.ok()) return Fail("export", st);
    std::printf("tte export: %s -> %s (%zu bytes): %s\n", o.model.c_str(), o.out.c_str(), e->bytes.size(), e->summary.c_str());
    return 0;
  }
  if (!m->pkl)
    return Fail("export", Unsupported(o.out + ": " + o.model + " is a " + m->graph.format +
                                      " model: .pkl output holds MCUNetV3 .pkl models only (write .tflite)"));
  Status st = SaveModel(*m->pkl, o.out);
  if (!st.ok()) return Fail("export", st);
  std::printf("tte export: %s -> %s\n", o.model.c_str(), o.out.c_str());
  return 0;
}

}  // namespace

void AddExportCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ExportCmd>();
  CLI::App* c = app.add_subcommand("export", "Convert a model file (.pkl, .tflite) to a TFLite int8 model (.tflite) or .pkl");
  c->add_option("--model", o->model, "Model file (.pkl, e.g. trained by tte train, or .tflite)")->required();
  c->add_option("--out", o->out, "Output file: NAME.tflite (TFLite int8 flatbuffer) or NAME.pkl")->required();
  c->add_option("--resolution", o->resolution, "Input resolution of a .pkl network (0 = the model's own)")->capture_default_str();
  c->callback([o, exit_code] { *exit_code = RunExport(*o); });
}

}  // namespace tte::cli
