// tte command-line tool: entry point. Each subcommand lives in its own cmd_*.cc file.
#include <cstdio>

#include "model/pkl_io.h"

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  auto m = tte::LoadModel(argv[1]);
  if (!m.ok()) {
    std::fprintf(stderr, "tte: %s\n", m.status().ToString().c_str());
    return 1;
  }
  std::printf("%d convs, %zu blocks\n", m->NumConvs(), m->blocks.size());
  auto s = tte::SaveModel(*m, argv[2]);
  if (!s.ok()) return 1;
  return 0;
}
