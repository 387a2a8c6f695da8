// Building and running generated projects (see firmware_run.h).
#include "codegen/firmware_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

namespace tte::codegen {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> KeyValues(const std::string& line) {
  std::map<std::string, std::string> kv;
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    const size_t eq = word.find('=');
    if (eq != std::string::npos) kv[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return kv;
}

int64_t Int(const std::map<std::string, std::string>& kv, const std::string& key, int64_t fallback = -1) {
  auto it = kv.find(key);
  if (it == kv.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 0);
  return end && *end == '\0' ? v : fallback;
}

bool Hex64(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 16) return false;
  char* end = nullptr;
  *v = std::strtoull(s.c_str(), &end, 16);
  return end && *end == '\0';
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::string ExeDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int RunShell(const std::string& command, std::string* output) {
  output->clear();
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return 127;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  const int st = pclose(p);
  if (st == -1) return 127;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 127;
}

void ParseFirmwareOutput(const std::string& text, FirmwareRun* r) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto kv = KeyValues(line);
    if (StartsWith(line, "fw: build=ok")) {
      r->built = true;
      if (auto it = kv.find("elf"); it != kv.end()) r->elf = it->second;
    } else if (StartsWith(line, "fw: ram_used=")) {
      r->ram_used = Int(kv, "ram_used");
      r->ram_budget = Int(kv, "ram_budget");
      r->flash_used = Int(kv, "flash_used");
      r->flash_budget = Int(kv, "flash_budget");
    } else if (StartsWith(line, "step=")) {
      StepLine s;
      s.step = static_cast<int>(Int(kv, "step"));
      s.label = static_cast<int>(Int(kv, "label"));
      s.loss_bits = static_cast<uint32_t>(Int(kv, "loss_bits", 0));
      std::memcpy(&s.loss, &s.loss_bits, sizeof s.loss);
      s.ticks = static_cast<uint64_t>(Int(kv, "ticks", 0));
      s.skipped = Int(kv, "skipped", 0) != 0;
      if (s.step >= 0) r->steps.push_back(s);
    } else if (StartsWith(line, "skipped_steps=")) {
      r->skipped_steps = Int(kv, "skipped_steps", 0);
    } else if (StartsWith(line, "checksum_initial=")) {
      r->has_initial_checksum = Hex64(kv.at("checksum_initial"), &r->checksum_initial);
    } else if (StartsWith(line, "checksum=")) {
      r->has_checksum = Hex64(kv.at("checksum"), &r->checksum);
    } else if (StartsWith(line, "mcu: stack_used=")) {
      r->stack_used = Int(kv, "stack_used");
      r->stack_size = Int(kv, "stack_size");
      r->heap_used = Int(kv, "heap_used");
      r->heap_size = Int(kv, "heap_size");
      r->ram_static = Int(kv, "ram_static");
    } else if (StartsWith(line, "insncount: mark ")) {
      std::istringstream w(line.substr(16));
      size_t index = 0;
      w >> index;
      if (r->mark_deltas.size() <= index) r->mark_deltas.resize(index + 1, -1);
      r->mark_deltas[index] = Int(kv, "delta");
    } else if (StartsWith(line, "insncount: total")) {
      r->total_insns = Int(kv, "insns");
    } else if (line.find("*** FAULT") != std::string::npos) {
      r->fault = line.substr(line.find("*** FAULT"));
    }
  }
  for (StepLine& s : r->steps) {
    const size_t m = static_cast<size_t>(2 * s.step + 1);
    if (m < r->mark_deltas.size()) s.insns = r->mark_deltas[m];
  }
}

Result<std::string> FindInsnCountPlugin(const std::string& hint) {
  if (!hint.empty()) {
    if (!fs::exists(hint)) return NotFound("--plugin " + hint + ": no such file");
    return fs::absolute(hint).string();
  }
  const std::string dir = ExeDir();
  if (!dir.empty()) {
    const fs::path built = fs::path(dir) / "firmware" / "insncount.so";
    if (fs::exists(built)) return built.string();
  }
  std::string out;
  if (RunShell("command -v cc", &out) != 0)
    return NotFound(
        "the QEMU instruction-counting plugin insncount.so was not found next to tte (" +
        (dir.empty() ? std::string("?") : dir) +
        "/firmware/insncount.so) and there is no host C compiler (cc) to build it from the project's "
        "tools/insncount.c: build it with `cmake --build <build> --target tte_insncount` or pass --plugin FILE");
  return std::string();  // the project's Makefile builds $(B)/insncount.so
}

Status CheckFirmwareTools(const std::string& project_dir) {
  std::string out;
  const int st = RunShell("make --no-print-directory -s -f " + ShellQuote(project_dir + "/Makefile") + " check-tools",
                          &out);
  if (st != 0) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return NotFound("firmware tools missing: " + out);
  }
  return Status::Ok();
}

Result<FirmwareRun> BuildAndRunFirmware(const FirmwareOptions& o) {
  FirmwareRun r;
  const std::string build = o.build_dir.empty() ? o.project_dir + "/build" : o.build_dir;
  // MAKEFLAGS: the kernels and the harness compile in parallel.
  std::string cmd = "MAKEFLAGS=-j4 " + ShellQuote(o.project_dir + "/tools/run_firmware.sh") + (o.count ? "" : " --no-count") + " -f " +
                    ShellQuote(o.project_dir + "/Makefile") + " B=" + ShellQuote(build) +
                    " TIMEOUT=" + std::to_string(o.timeout_seconds);
  if (!o.plugin.empty()) cmd += " PLUGIN=" + ShellQuote(o.plugin);
  r.exit_status = RunShell(cmd, &r.output);
  ParseFirmwareOutput(r.output, &r);
  if (!r.built || r.elf.empty()) return r;
  std::string out;
  if (RunShell("arm-none-eabi-size " + ShellQuote(r.elf), &out) == 0) {
    std::istringstream in(out);
    std::string header;
    std::getline(in, header);
    in >> r.text >> r.data >> r.bss;
  }
  if (RunShell("arm-none-eabi-nm -S " + ShellQuote(r.elf), &out) == 0) {
    std::istringstream in(out);
    std::string line;
    int64_t total = 0;
    bool found = false;
    while (std::getline(in, line)) {
      std::istringstream w(line);
      std::string addr, size, type, name;
      if (!(w >> addr >> size >> type >> name)) continue;
      if (name == "tte_samples" || name == "tte_labels") {
        total += std::strtoll(size.c_str(), nullptr, 16);
        found = true;
      }
    }
    if (found) r.sample_flash_bytes = total;
  }
  return r;
}

Result<FirmwareRun> BuildAndRunHost(const std::string& project_dir, const std::string& build_dir,
                                    const std::string& make_vars) {
  FirmwareRun r;
  const std::string build = build_dir.empty() ? project_dir + "/build" : build_dir;
  std::string out;
  const int st = RunShell("make --no-print-directory -s -j4 -f " + ShellQuote(project_dir + "/Makefile") +
                              " B=" + ShellQuote(build) + " " + make_vars + " host",
                          &out);
  if (st != 0) return Internal("host build of " + project_dir + " failed:\n" + out);
  r.built = true;
  r.build_log = out;
  r.exit_status = RunShell(ShellQuote(build + "/tte_train-host"), &r.output);
  ParseFirmwareOutput(r.output, &r);
  return r;
}

}  // namespace tte::codegen
