// MCUNetV3 .pkl <-> Model (see pkl_io.h).
#include "model/pkl_io.h"

#include <cmath>
#include <cstring>
#include <unordered_set>

#include "core/file_io.h"
#include "core/limits.h"
#include "core/zip.h"

namespace tte {
namespace {

using pickle::PyType;
using pickle::PyValue;

// Field accessors that produce "label: path.field: problem" messages.
struct Reader {
  std::string label;
  // Arrays already taken by a layer: each may be used once, so that what the model holds never exceeds
  // the file (a pickle can reference one array from a thousand layers).
  mutable std::unordered_set<const PyValue*> used_arrays;

  Status Err(const std::string& path, const std::string& msg) const {
    return InvalidArgument(label + ": " + path + ": " + msg);
  }
  Result<const PyValue*> Field(const PyValue& d, const std::string& path, const std::string& key) const {
    if (d.type != PyType::kDict) return Err(path, std::string("expected a dict, found ") + d.TypeName());
    const PyValue* v = d.Get(key);
    if (!v) return Err(path + "." + key, "missing");
    return v;
  }
  Result<int64_t> Int(const PyValue& d, const std::string& path, const std::string& key, int64_t lo, int64_t hi) const {
    TTE_ASSIGN_OR_RETURN(const PyValue* v, Field(d, path, key));
    if (v->type != PyType::kInt) return Err(path + "." + key, std::string("expected an int, found ") + v->TypeName());
    if (v->i < lo || v->i > hi)
      return Err(path + "." + key, std::to_string(v->i) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v->i;
  }
  Result<double> PositiveFloat(const PyValue& d, const std::string& path, const std::string& key) const {
    TTE_ASSIGN_OR_RETURN(const PyValue* v, Field(d, path, key));
    double x;
    if (v->type == PyType::kFloat) x = v->f;
    else if (v->type == PyType::kInt) x = static_cast<double>(v->i);
    else return Err(path + "." + key, std::string("expected a float, found ") + v->TypeName());
    // The kernels compute in float32: the scale must be a positive, finite, normal float32 as well.
    if (!std::isfinite(x) || x <= 0 || !std::isnormal(static_cast<float>(x)))
      return Err(path + "." + key, "must be a positive finite float32 number (is " + std::to_string(x) + ")");
    return x;
  }
  Result<const Tensor*> Array(const PyValue& d, const std::string& path, const std::string& key, DType dt,
                              const std::vector<int64_t>& shape) const {
    TTE_ASSIGN_OR_RETURN(const PyValue* v, Field(d, path, key));
    std::string p = path + "." + key;
    if (v->type != PyType::kArray || v->i != 0) return Err(p, std::string("expected a numpy array, found ") + v->TypeName());
    if (v->array.dtype != dt)
      return Err(p, std::string("dtype ") + DTypeName(v->array.dtype) + ", expected " + DTypeName(dt));
    if (v->array.shape != shape) return Err(p, "shape " + ShapeString(v->array.shape) + ", expected " + ShapeString(shape));
    if (!used_arrays.insert(v).second) return Err(p, "the same array is already used by another layer");
    if (dt == DType::kFloat32)
      for (int64_t i = 0; i < v->array.numel(); ++i)
        if (!std::isfinite(v->array.data<float>()[i]))
          return Err(p, "entry " + std::to_string(i) + " is not a finite number (" + std::to_string(v->array.data<float>()[i]) + ")");
    return &v->array;
  }
  Status NoneOrAbsent(const PyValue& d, const std::string& path, const std::string& key, const std::string& what) const {
    const PyValue* v = d.Get(key);
    if (v && v->type != PyType::kNone) return Unsupported(label + ": " + path + "." + key + ": " + what);
    return Status::Ok();
  }

  Result<ConvLayer> Conv(const PyValue& d, const std::string& path, bool is_classifier) const {
    ConvLayer c;
    c.path = path;
    if (d.type != PyType::kDict) return Err(path, std::string("expected a dict, found ") + d.TypeName());
    TTE_ASSIGN_OR_RETURN(int64_t cin, Int(d, path, "in_channel", 1, 1 << 16));
    TTE_ASSIGN_OR_RETURN(int64_t cout, Int(d, path, "out_channel", 1, 1 << 16));
    c.in_channels = static_cast<int>(cin);
    c.out_channels = static_cast<int>(cout);
    TTE_ASSIGN_OR_RETURN(const PyValue* ks, Field(d, path, "kernel_size"));
    if (ks->type == PyType::kInt) {
      c.kernel = static_cast<int>(ks->i);
    } else if ((ks->type == PyType::kTuple || ks->type == PyType::kList) && ks->items.size() == 2 &&
               ks->items[0]->type == PyType::kInt && ks->items[1]->type == PyType::kInt) {
      if (ks->items[0]->i != ks->items[1]->i)
        return Unsupported(label + ": " + path + ".kernel_size: non-square kernels");
      c.kernel = static_cast<int>(ks->items[0]->i);
    } else {
      return Err(path + ".kernel_size", "expected a (k, k) tuple");
    }
    if (c.kernel < 1 || c.kernel > 15 || c.kernel % 2 == 0)
      return Unsupported(label + ": " + path + ".kernel_size: " + std::to_string(c.kernel) + " (odd sizes 1..15 are supported)");
    TTE_ASSIGN_OR_RETURN(int64_t stride, Int(d, path, "stride", 1, 8));
    TTE_ASSIGN_OR_RETURN(int64_t groups, Int(d, path, "groups", 1, 1 << 16));
    c.stride = static_cast<int>(stride);
    c.groups = static_cast<int>(groups);
    if (c.in_channels % c.groups || c.out_channels % c.groups)
      return Err(path + ".groups", std::to_string(c.groups) + " does not divide in_channel " + std::to_string(c.in_channels) +
                                       " and out_channel " + std::to_string(c.out_channels));
    if (!is_classifier) {
      TTE_ASSIGN_OR_RETURN(int64_t in_hw, Int(d, path, "in_shape", 1, 1 << 14));
      TTE_ASSIGN_OR_RETURN(int64_t out_hw, Int(d, path, "out_shape", 1, 1 << 14));
      c.in_hw = static_cast<int>(in_hw);
      c.out_hw = static_cast<int>(out_hw);
      if (c.OutSize(c.in_hw) != c.out_hw)
        return Err(path + ".out_shape", std::to_string(c.out_hw) + " does not follow from in_shape " + std::to_string(c.in_hw) +
                                            ", kernel " + std::to_string(c.kernel) + ", stride " + std::to_string(c.stride) +
                                            " (expected " + std::to_string(c.OutSize(c.in_hw)) + ")");
      TTE_ASSIGN_OR_RETURN(const PyValue* dw, Field(d, path, "depthwise"));
      if (dw->type != PyType::kBool) return Err(path + ".depthwise", "expected a bool");
      c.depthwise = dw->b;
      if (c.depthwise && (c.groups != c.in_channels || c.in_channels != c.out_channels))
        return Err(path + ".depthwise", "True but groups/in_channel/out_channel are not all equal");
      TTE_RETURN_IF_ERROR(NoneOrAbsent(d, path, "act", "explicit activations are not supported (ReLU6 must be folded into the int8 clamp)"));
    }
    TTE_ASSIGN_OR_RETURN(const PyValue* params, Field(d, path, "params"));
    std::string pp = path + ".params";
    TTE_ASSIGN_OR_RETURN(const Tensor* w, Array(*params, pp, "weight", DType::kInt8,
                                                {cout, cin / c.groups, c.kernel, c.kernel}));
    TTE_ASSIGN_OR_RETURN(const Tensor* b, Array(*params, pp, "bias", DType::kInt32, {cout}));
    TTE_ASSIGN_OR_RETURN(const Tensor* ws, Array(*params, pp, "w_scales", DType::kFloat32, {cout}));
    c.weight.assign(w->data<int8_t>(), w->data<int8_t>() + w->numel());
    c.bias.assign(b->data<int32_t>(), b->data<int32_t>() + b->numel());
    c.w_scales.assign(ws->data<float>(), ws->data<float>() + ws->numel());
    for (size_t i = 0; i < c.w_scales.size(); ++i)
      if (!std::isnormal(c.w_scales[i]) || c.w_scales[i] <= 0)
        return Err(pp + ".w_scales", "entry " + std::to_string(i) + " is not a positive finite number (" +
                                         std::to_string(c.w_scales[i]) + ")");
    TTE_ASSIGN_OR_RETURN(c.x_scale, PositiveFloat(*params, pp, "x_scale"));
    TTE_ASSIGN_OR_RETURN(c.y_scale, PositiveFloat(*params, pp, "y_scale"));
    TTE_ASSIGN_OR_RETURN(int64_t xz, Int(*params, pp, "x_zero", -128, 255));
    TTE_ASSIGN_OR_RETURN(int64_t yz, Int(*params, pp, "y_zero", -128, 255));
    if (xz > 127 || yz > 127) return Unsupported(label + ": " + pp + ": zero points above 127 (uint8 activations)");
    c.x_zero = static_cast<int>(xz);
    c.y_zero = static_cast<int>(yz);
    c.ComputeEffectiveScales();
    for (size_t i = 0; i < c.eff.size(); ++i)
      if (!std::isfinite(c.eff[i]))
        return Err(pp, "x_scale * w_scales[" + std::to_string(i) + "] / y_scale overflows float32");
    return c;
  }
};

Status ChainError(const std::string& label, const ConvLayer& c, const std::string& what, int got, int want) {
  return InvalidArgument(label + ": " + c.path + "." + what + ": " + std::to_string(got) + " does not chain with the previous layer's output " +
                         std::to_string(want));
}

}  // namespace

Result<Model> ModelFromPickle(const PyValue& root, const std::string& label) {
  Reader r{label, {}};
  if (root.type != PyType::kDict) return r.Err("(top level)", std::string("expected a dict, found ") + root.TypeName());
  Model m;
  m.source = label;
  TTE_ASSIGN_OR_RETURN(const PyValue* fc, r.Field(root, "(top level)", "first_conv"));
  TTE_ASSIGN_OR_RETURN(m.first_conv, r.Conv(*fc, "first_conv", false));
  TTE_ASSIGN_OR_RETURN(const PyValue* blocks, r.Field(root, "(top level)", "blocks"));
  if (blocks->type != PyType::kList && blocks->type != PyType::kTuple) return r.Err("blocks", "expected a list");
  if (blocks->items.size() > limits::kMaxModelBlocks)
    return r.Err("blocks", std::to_string(blocks->items.size()) + " blocks, more than the limit of " +
                               std::to_string(limits::kMaxModelBlocks));
  int channels = m.first_conv.out_channels, hw = m.first_conv.out_hw;
  for (size_t i = 0; i < blocks->items.size(); ++i) {
    const PyValue& bd = *blocks->items[i];
    std::string bp = "blocks[" + std::to_string(i) + "]";
    std::string np = "blocks." + std::to_string(i);
    if (bd.type != PyType::kDict) return r.Err(bp, "expected a dict");
    TTE_RETURN_IF_ERROR(r.NoneOrAbsent(bd, bp, "se", "squeeze-and-excitation blocks are not supported"));
    Block b;
    int block_in_c = channels, block_in_hw = hw;
    auto chain = [&](ConvLayer& c) -> Status {
      if (c.in_channels != channels) return ChainError(label, c, "in_channel", c.in_channels, channels);
      if (c.in_hw != hw) return ChainError(label, c, "in_shape", c.in_hw, hw);
      channels = c.out_channels;
      hw = c.out_hw;
      return Status::Ok();
    };
    const PyValue* pw1 = bd.Get("pointwise1");
    if (pw1 && pw1->type != PyType::kNone) {
      TTE_ASSIGN_OR_RETURN(ConvLayer c, r.Conv(*pw1, np + ".pointwise1", false));
      TTE_RETURN_IF_ERROR(chain(c));
      b.pointwise1 = std::move(c);
    }
    TTE_ASSIGN_OR_RETURN(const PyValue* dw, r.Field(bd, bp, "depthwise"));
    TTE_ASSIGN_OR_RETURN(b.depthwise, r.Conv(*dw, np + ".depthwise", false));
    TTE_RETURN_IF_ERROR(chain(b.depthwise));
    TTE_ASSIGN_OR_RETURN(const PyValue* pw2, r.Field(bd, bp, "pointwise2"));
    TTE_ASSIGN_OR_RETURN(b.pointwise2, r.Conv(*pw2, np + ".pointwise2", false));
    TTE_RETURN_IF_ERROR(chain(b.pointwise2));
    const PyValue* res = bd.Get("residual");
    if (res && res->type != PyType::kNone) {
      if (res->type != PyType::kDict) return r.Err(bp + ".residual", "expected a dict or None");
      if (res->Get("kernel_size"))
        return Unsupported(label + ": " + bp + ".residual: convolutional shortcuts are not supported (only identity)");
      ResidualAdd a;
      TTE_ASSIGN_OR_RETURN(int64_t ic, r.Int(*res, bp + ".residual", "in_channel", 1, 1 << 16));
      TTE_ASSIGN_OR_RETURN(int64_t ih, r.Int(*res, bp + ".residual", "in_shape", 1, 1 << 14));
      a.in_channels = static_cast<int>(ic);
      a.in_hw = static_cast<int>(ih);
      if (a.in_channels != block_in_c || a.in_hw != block_in_hw || channels != block_in_c || hw != block_in_hw)
        return r.Err(bp + ".residual", "identity shortcut needs equal block input and output shapes (input " +
                                           std::to_string(block_in_c) + "x" + std::to_string(block_in_hw) + ", output " +
                                           std::to_string(channels) + "x" + std::to_string(hw) + ")");
      TTE_ASSIGN_OR_RETURN(const PyValue* rp, r.Field(*res, bp + ".residual", "params"));
      std::string pp = bp + ".residual.params";
      TTE_ASSIGN_OR_RETURN(a.x_scale, r.PositiveFloat(*rp, pp, "x_scale"));
      TTE_ASSIGN_OR_RETURN(a.y_scale, r.PositiveFloat(*rp, pp, "y_scale"));
      TTE_ASSIGN_OR_RETURN(int64_t xz, r.Int(*rp, pp, "x_zero", -128, 127));
      TTE_ASSIGN_OR_RETURN(int64_t yz, r.Int(*rp, pp, "y_zero", -128, 127));
      a.x_zero = static_cast<int>(xz);
      a.y_zero = static_cast<int>(yz);
      b.residual = a;
    }
    m.blocks.push_back(std::move(b));
  }
  const PyValue* mix = root.Get("feature_mix");
  if (mix && mix->type != PyType::kNone) {
    TTE_ASSIGN_OR_RETURN(ConvLayer c, r.Conv(*mix, "feature_mix", false));
    if (c.in_channels != channels) return ChainError(label, c, "in_channel", c.in_channels, channels);
    if (c.in_hw != hw) return ChainError(label, c, "in_shape", c.in_hw, hw);
    channels = c.out_channels;
    m.feature_mix = std::move(c);
  }
  TTE_ASSIGN_OR_RETURN(const PyValue* cls, r.Field(root, "(top level)", "classifier"));
  TTE_ASSIGN_OR_RETURN(m.classifier, r.Conv(*cls, "classifier", true));
  if (m.classifier.in_channels != channels) return ChainError(label, m.classifier, "in_channel", m.classifier.in_channels, channels);
  if (m.classifier.kernel != 1 || m.classifier.groups != 1 || m.classifier.stride != 1)
    return Unsupported(label + ": classifier: only a 1x1 convolution with groups 1 and stride 1 is supported");
  // Number the backbone convs.
  int idx = 0;
  for (ConvLayer* c : m.MutableConvs()) c->index = idx++;
  const PyValue* th = root.Get("tte_head");
  if (th && th->type != PyType::kNone) {
    FpHead h;
    TTE_ASSIGN_OR_RETURN(int64_t out, r.Int(*th, "tte_head", "out_features", 1, 1 << 16));
    h.in = m.feature_channels();
    h.out = static_cast<int>(out);
    TTE_ASSIGN_OR_RETURN(const Tensor* w, r.Array(*th, "tte_head", "weight", DType::kFloat32, {out, h.in}));
    TTE_ASSIGN_OR_RETURN(const Tensor* b, r.Array(*th, "tte_head", "bias", DType::kFloat32, {out}));
    h.weight.assign(w->data<float>(), w->data<float>() + w->numel());
    h.bias.assign(b->data<float>(), b->data<float>() + b->numel());
    const PyValue* names = th->Get("class_names");
    if (names && names->type == PyType::kList)
      for (const auto& n : names->items)
        if (n->type == PyType::kStr) h.class_names.push_back(n->s);
    if (!h.class_names.empty() && static_cast<int64_t>(h.class_names.size()) != out)
      return r.Err("tte_head.class_names", std::to_string(h.class_names.size()) + " names for " + std::to_string(out) + " classes");
    m.fp_head = std::move(h);
  }
  return m;
}

Result<Model> ParseModelFile(std::vector<uint8_t> bytes, const std::string& label) {
  std::vector<uint8_t> pkl;
  std::string entry;
  {  // the archive is freed before the pickle is parsed (a lower peak of memory)
    TTE_ASSIGN_OR_RETURN(ZipReader zip, ZipReader::Open(std::move(bytes), label));
    const ZipEntry* e = zip.Find("data.pkl");
    if (!e) return DataLoss(label + ": zip archive has no data.pkl entry (not a torch.save file)");
    TTE_ASSIGN_OR_RETURN(pkl, zip.Read(*e));
    entry = e->name;
  }
  TTE_ASSIGN_OR_RETURN(pickle::PyPtr root, pickle::Load(pkl, label + ":" + entry));
  pkl = {};
  return ModelFromPickle(*root, label);
}

Result<Model> LoadModel(const std::string& path) {
  TTE_ASSIGN_OR_RETURN(auto bytes, ReadFile(path));
  return ParseModelFile(std::move(bytes), path);
}

namespace {

template <typename T>
pickle::PyPtr ArrayOf(DType dt, std::vector<int64_t> shape, const std::vector<T>& v) {
  return pickle::Array(Tensor::From(dt, std::move(shape), v.data()));
}

pickle::PyPtr ConvToPickle(const ConvLayer& c, bool is_classifier) {
  using namespace pickle;
  int64_t k = c.kernel;
  auto params = Dict({{"weight", ArrayOf(DType::kInt8, {c.out_channels, c.in_channels / c.groups, k, k}, c.weight)},
                      {"bias", ArrayOf(DType::kInt32, {c.out_channels}, c.bias)},
                      {"x_scale", Float(c.x_scale)},
                      {"x_zero", Int(c.x_zero)},
                      {"y_scale", Float(c.y_scale)},
                      {"y_zero", Int(c.y_zero)},
                      {"w_scales", ArrayOf(DType::kFloat32, {c.out_channels}, c.w_scales)}});
  auto ks = Tuple({Int(k), Int(k)});
  if (is_classifier)
    return Dict({{"in_channel", Int(c.in_channels)}, {"out_channel", Int(c.out_channels)}, {"params", params},
                 {"kernel_size", ks}, {"stride", Int(c.stride)}, {"groups", Int(c.groups)}});
  return Dict({{"in_channel", Int(c.in_channels)}, {"in_shape", Int(c.in_hw)}, {"out_channel", Int(c.out_channels)},
               {"out_shape", Int(c.out_hw)}, {"kernel_size", ks}, {"stride", Int(c.stride)}, {"groups", Int(c.groups)},
               {"depthwise", Bool(c.depthwise)}, {"act", None()}, {"params", params}});
}

}  // namespace

pickle::PyPtr ModelToPickle(const Model& m) {
  using namespace pickle;
  std::vector<PyPtr> blocks;
  for (const Block& b : m.blocks) {
    PyPtr res = None();
    if (b.residual) {
      const ResidualAdd& a = *b.residual;
      res = Dict({{"in_channel", Int(a.in_channels)}, {"in_shape", Int(a.in_hw)},
                  {"params", Dict({{"x_scale", Float(a.x_scale)}, {"x_zero", Int(a.x_zero)},
                                   {"y_scale", Float(a.y_scale)}, {"y_zero", Int(a.y_zero)}})}});
    }
    blocks.push_back(Dict({{"pointwise1", b.pointwise1 ? ConvToPickle(*b.pointwise1, false) : None()},
                           {"depthwise", ConvToPickle(b.depthwise, false)},
                           {"pointwise2", ConvToPickle(b.pointwise2, false)},
                           {"residual", res},
                           {"se", None()}}));
  }
  PyPtr root = Dict({{"first_conv", ConvToPickle(m.first_conv, false)},
                     {"blocks", List(std::move(blocks))},
                     {"feature_mix", m.feature_mix ? ConvToPickle(*m.feature_mix, false) : None()},
                     {"classifier", ConvToPickle(m.classifier, true)}});
  if (m.fp_head) {
    const FpHead& h = *m.fp_head;
    std::vector<PyPtr> names;
    for (const auto& n : h.class_names) names.push_back(Str(n));
    root->dict.emplace_back(Str("tte_head"),
                            Dict({{"out_features", Int(h.out)},
                                  {"in_features", Int(h.in)},
                                  {"weight", ArrayOf(DType::kFloat32, {h.out, h.in}, h.weight)},
                                  {"bias", ArrayOf(DType::kFloat32, {h.out}, h.bias)},
                                  {"x_scale", Float(m.classifier.x_scale)},
                                  {"x_zero", Int(m.classifier.x_zero)},
                                  {"class_names", List(std::move(names))}}));
  }
  return root;
}

std::vector<uint8_t> SerializeModelFile(const Model& m, const pickle::PyPtr& extra) {
  pickle::PyPtr root = ModelToPickle(m);
  if (extra && extra->type == pickle::PyType::kDict)
    for (const auto& kv : extra->dict) root->dict.push_back(kv);
  ZipWriter w;
  w.Add("archive/data.pkl", pickle::Dump(*root));
  w.Add("archive/version", std::vector<uint8_t>{'3', '\n'});
  return w.Finish();
}

Status SaveModel(const Model& m, const std::string& path) { return WriteFileAtomic(path, SerializeModelFile(m)); }

}  // namespace tte
