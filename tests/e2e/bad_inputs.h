// The catalogue of bad inputs (issue 17): every kind of bad file, path or value a user can give tte,
// each with the command that meets it and what its message must name. bad_inputs_test.cc runs the
// catalogue through the `tte` binary and keeps docs/bad-inputs.md in step with it.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tte::testing {

struct BadInput {
  std::string id;                // short name, used for the entry's directory
  std::string kind;              // the heading: truncated, zero-length, random, ...
  std::string what;              // the input, in words (for the doc)
  std::function<void(const std::string& dir)> make;  // writes the input files into `dir`
  std::string args;              // tte arguments; {dir} is the entry's directory, {good} a valid tiny model
  std::vector<std::string> says; // substrings the message must hold (the file, the field or offset)
  std::vector<std::string> no_output;  // files (relative to {dir}) that must not exist afterwards
  enum class Runner { kPlain, kAsOtherUser, kFullDisk, kStdoutFull } runner = Runner::kPlain;
};

// Every entry of the catalogue.
std::vector<BadInput> BadInputCatalogue();

}  // namespace tte::testing
