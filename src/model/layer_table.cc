// Layer table (see layer_table.h).
#include "model/layer_table.h"

namespace tte {

Result<std::vector<LayerRow>> LayerTable(const Model& m, int resolution, LayerTableSummary* sum) {
  const int R = resolution > 0 ? resolution : m.resolution();
  std::vector<LayerRow> rows;
  LayerTableSummary s;
  int c = m.in_channels(), hw = R;
  auto conv_row = [&](const ConvLayer& L, bool classifier) -> Status {
    LayerRow r;
    r.conv_index = classifier ? -1 : L.index;
    r.name = L.path;
    r.kernel = L.kernel;
    r.stride = L.stride;
    r.groups = L.groups;
    r.in_c = c;
    r.in_h = r.in_w = hw;
    int out = L.OutSize(hw);
    if (out < 1)
      return InvalidArgument(L.path + ": resolution " + std::to_string(R) + " is too small (input " + std::to_string(hw) + "x" +
                             std::to_string(hw) + ")");
    r.out_c = L.out_channels;
    r.out_h = r.out_w = out;
    std::string k = std::to_string(L.kernel) + "x" + std::to_string(L.kernel);
    if (classifier) r.op = "classifier";
    else if (L.depthwise) r.op = "dw" + k;
    else if (L.kernel == 1) r.op = "pw";
    else r.op = "conv" + k;
    if (L.stride > 1) r.op += "/s" + std::to_string(L.stride);
    r.params = static_cast<int64_t>(L.weight.size() + L.bias.size());
    r.macs = static_cast<int64_t>(out) * out * L.out_channels * L.InPerGroup() * L.kernel * L.kernel;
    r.act_bytes = static_cast<int64_t>(L.out_channels) * out * out;
    s.params += r.params;
    s.macs += r.macs;
    s.weight_bytes += static_cast<int64_t>(L.weight.size());
    s.bias_bytes += 4 * static_cast<int64_t>(L.bias.size());
    s.max_in_out_bytes = std::max(s.max_in_out_bytes, static_cast<int64_t>(c) * hw * hw + r.act_bytes);
    rows.push_back(r);
    c = L.out_channels;
    hw = out;
    return Status::Ok();
  };
  TTE_RETURN_IF_ERROR(conv_row(m.first_conv, false));
  for (size_t b = 0; b < m.blocks.size(); ++b) {
    const Block& blk = m.blocks[b];
    if (blk.pointwise1) TTE_RETURN_IF_ERROR(conv_row(*blk.pointwise1, false));
    TTE_RETURN_IF_ERROR(conv_row(blk.depthwise, false));
    TTE_RETURN_IF_ERROR(conv_row(blk.pointwise2, false));
    if (blk.residual) {
      LayerRow r;
      r.name = "blocks." + std::to_string(b) + ".residual";
      r.op = "add";
      r.in_c = r.out_c = c;
      r.in_h = r.in_w = r.out_h = r.out_w = hw;
      r.act_bytes = static_cast<int64_t>(c) * hw * hw;
      rows.push_back(r);
      ++s.residuals;
    }
  }
  if (m.feature_mix) TTE_RETURN_IF_ERROR(conv_row(*m.feature_mix, false));
  LayerRow pool;
  pool.name = "avgpool";
  pool.op = "avgpool";
  pool.in_c = pool.out_c = c;
  pool.in_h = pool.in_w = hw;
  pool.out_h = pool.out_w = 1;
  pool.act_bytes = c;
  rows.push_back(pool);
  hw = 1;
  TTE_RETURN_IF_ERROR(conv_row(m.classifier, true));
  s.convs = m.NumConvs();
  s.blocks = static_cast<int>(m.blocks.size());
  if (sum) *sum = s;
  return rows;
}

}  // namespace tte
