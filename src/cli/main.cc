// tte: the Tiny Training Engine command-line tool. Each subcommand lives in its own cmd_<name>.cc.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "tte - the Tiny Training Engine: train int8 CNNs on microcontrollers.\n"
      "Import MCUNetV3 int8 models, compile sparse-update training programs with a static memory plan,\n"
      "train them on the host bit-exactly like the device, and generate C for Cortex-M.",
      "tte"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tte 0.1.0");
  int exit_code = 0;
  tte::cli::AddInfoCommand(app, &exit_code);
  tte::cli::AddInferCommand(app, &exit_code);
  tte::cli::AddEvalCommand(app, &exit_code);
  tte::cli::AddCompileCommand(app, &exit_code);
  tte::cli::AddGradCommand(app, &exit_code);
  tte::cli::AddTrainCommand(app, &exit_code);
  tte::cli::AddPlanCommand(app, &exit_code);
  tte::cli::AddCodegenCommand(app, &exit_code);
  tte::cli::AddMcuRunCommand(app, &exit_code);
  tte::cli::AddExportCommand(app, &exit_code);
  tte::cli::AddAnalyzeCommand(app, &exit_code);
  tte::cli::AddSearchCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Output that could not be written (a full disk, a closed pipe) is an error too.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "tte: error: cannot write to standard output (disk full?)\n");
    return exit_code != 0 ? exit_code : 1;
  }
  return exit_code;
}
