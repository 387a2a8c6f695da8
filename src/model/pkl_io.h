// Reading and writing MCUNetV3 model files (.pkl: a torch.save zip holding a protocol-2 pickle of
// dicts and numpy arrays; ALGORITHM.md section 1).
//
// LoadModel validates everything it reads and reports the file and the field at fault, e.g.
//   "m.pkl: blocks[4].pointwise2.params.weight: shape [24,96,1,1] does not match in_channel 48".
// SaveModel writes the same format back (a STORED zip with archive/data.pkl and archive/version),
// so Python's zipfile + pickle + numpy load it and compare equal to the original.
#pragma once

#include <string>

#include "core/status.h"
#include "model/model.h"
#include "model/pickle.h"

namespace tte {

Result<Model> LoadModel(const std::string& path);
// Parses a model from an in-memory .pkl (zip) image; `label` names it in messages.
Result<Model> ParseModelFile(std::vector<uint8_t> bytes, const std::string& label);
Result<Model> ModelFromPickle(const pickle::PyValue& root, const std::string& label);

pickle::PyPtr ModelToPickle(const Model& model);
std::vector<uint8_t> SerializeModelFile(const Model& model, const pickle::PyPtr& extra_top_level = nullptr);
Status SaveModel(const Model& model, const std::string& path);  // atomic

}  // namespace tte
