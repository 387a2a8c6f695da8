// Registration of the tte subcommands (one cmd_<name>.cc file each).
#pragma once

#include <CLI/CLI.hpp>

namespace tte::cli {

void AddInfoCommand(CLI::App& app, int* exit_code);
void AddInferCommand(CLI::App& app, int* exit_code);
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddCompileCommand(CLI::App& app, int* exit_code);
void AddGradCommand(CLI::App& app, int* exit_code);
void AddTrainCommand(CLI::App& app, int* exit_code);
void AddPlanCommand(CLI::App& app, int* exit_code);
void AddCodegenCommand(CLI::App& app, int* exit_code);
void AddMcuRunCommand(CLI::App& app, int* exit_code);
void AddExportCommand(CLI::App& app, int* exit_code);
void AddAnalyzeCommand(CLI::App& app, int* exit_code);
void AddSearchCommand(CLI::App& app, int* exit_code);

}  // namespace tte::cli
