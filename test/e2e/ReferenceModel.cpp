//===- ReferenceModel.cpp - Double-precision MatFormer reference ----------===//
//
// Hugging Face Llama numerics (docs/REFERENCE.md, Numerics), evaluated in
// double:
//
//   h = embed[tokens]
//   for each layer not skipped:
//     h += o_proj(attention(rmsnorm(h, input_layernorm)))
//     if width > 0:
//       x = rmsnorm(h, post_attention_layernorm)
//       h += down[:, :w] (act(gate[:w] x) * up[:w] x)
//   logits = lm_head(rmsnorm(h, model.norm))   (lm_head = embed when tied)
//
//===----------------------------------------------------------------------===//

#include "ReferenceModel.h"

#include "matc/spec/FileIO.h"
#include "matc/spec/Safetensors.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace matc::reference {

const Tensor &Checkpoint::get(const std::string &name) const {
  auto found = tensors.find(name);
  if (found == tensors.end()) {
    // loadCheckpoint checked every expected tensor, so this is a bug here.
    std::fprintf(stderr, "matc-reference: internal error: no tensor %s\n",
                 name.c_str());
    std::abort();
  }
  return found->second;
}

Tensor &Checkpoint::get(const std::string &name) {
  const Checkpoint &self = *this;
  return const_cast<Tensor &>(self.get(name));
}

std::string layerTensor(int64_t layer, const std::string &suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

double halfToDouble(uint16_t bits) {
  double sign = (bits & 0x8000) ? -1.0 : 1.0;
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  if (exponent == 0) // zero or subnormal: mantissa * 2^-24
    return sign * std::ldexp(static_cast<double>(mantissa), -24);
  if (exponent == 31)
    return mantissa == 0 ? sign * HUGE_VAL : std::nan("");
  return sign * std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
}

static double elementToDouble(const uint8_t *element, spec::DType dtype) {
  switch (dtype) {
  case spec::DType::F32: {
    float value;
    std::memcpy(&value, element, sizeof value);
    return value;
  }
  case spec::DType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, element, sizeof bits);
    return spec::bf16ToFloat(bits);
  }
  case spec::DType::F16: {
    uint16_t bits;
    std::memcpy(&bits, element, sizeof bits);
    return halfToDouble(bits);
  }
  }
  return 0;
}

bool loadCheckpoint(const std::string &path, const spec::ModelSpec &spec,
                    Checkpoint &checkpoint, spec::Diagnostics &diags) {
  std::string bytes;
  if (!spec::readFile(path, bytes, diags))
    return false;
  const auto *fileData = reinterpret_cast<const uint8_t *>(bytes.data());
  std::optional<spec::SafetensorsHeader> header =
      spec::parseSafetensorsHeader(fileData, bytes.size(), diags);
  if (!header || !spec::checkCheckpoint(*header, spec, diags))
    return false;

  checkpoint = Checkpoint();
  for (const spec::ExpectedTensor &expected : spec::expectedTensors(spec)) {
    const spec::TensorInfo *info = header->find(expected.name);
    assert(info && "checkCheckpoint found every expected tensor");
    uint64_t elementSize = spec::dtypeSize(info->dtype);
    uint64_t count = static_cast<uint64_t>(info->numElements());
    if (info->end - info->begin != count * elementSize) {
      diags.error(expected.name, "holds " +
                                     std::to_string(info->end - info->begin) +
                                     " bytes, expected " +
                                     std::to_string(count * elementSize));
      return false;
    }
    Tensor tensor;
    tensor.shape = info->shape;
    tensor.data.resize(count);
    const uint8_t *data = fileData + header->dataStart + info->begin;
    for (uint64_t i = 0; i < count; ++i)
      tensor.data[i] = elementToDouble(data + i * elementSize, info->dtype);
    checkpoint.order.push_back(expected.name);
    checkpoint.tensors.emplace(expected.name, std::move(tensor));
  }
  return true;
}

//===----------------------------------------------------------------------===//
// The math
//===----------------------------------------------------------------------===//

namespace {

// One sequence of T vectors of size `width`, row-major.
struct Rows {
  int64_t count = 0;
  int64_t width = 0;
  std::vector<double> data;

  Rows(int64_t count, int64_t width)
      : count(count), width(width), data(count * width, 0.0) {}
  double *row(int64_t t) { return data.data() + t * width; }
  const double *row(int64_t t) const { return data.data() + t * width; }
};

// out = x * 1/sqrt(mean(x^2) + eps) * weight
void rmsNorm(const double *x, const Tensor &weight, double eps, double *out) {
  int64_t n = weight.rows();
  double sumSquares = 0;
  for (int64_t i = 0; i < n; ++i)
    sumSquares += x[i] * x[i];
  double scale = 1.0 / std::sqrt(sumSquares / n + eps);
  for (int64_t i = 0; i < n; ++i)
    out[i] = x[i] * scale * weight.data[i];
}

// y[o] = sum_{i < inputs} W[o, i] x[i] for o < outputs: the top-left block
// of a weight stored [out, in], which is how nested FFN widths slice it.
void linear(const Tensor &weight, const double *x, int64_t outputs,
            int64_t inputs, double *y) {
  assert(outputs <= weight.rows() && inputs <= weight.cols());
  for (int64_t o = 0; o < outputs; ++o) {
    double sum = 0;
    for (int64_t i = 0; i < inputs; ++i)
      sum += weight.at(o, i) * x[i];
    y[o] = sum;
  }
}

// Rotate-half RoPE on one head vector of size headDim at `position`:
// pairs (j, j + headDim/2) rotate by position * theta^(-2j/headDim).
void applyRope(double *head, int64_t headDim, int64_t position, double theta) {
  int64_t half = headDim / 2;
  for (int64_t j = 0; j < half; ++j) {
    double invFreq = std::pow(theta, -2.0 * j / headDim);
    double angle = position * invFreq;
    double c = std::cos(angle), s = std::sin(angle);
    double first = head[j], second = head[j + half];
    head[j] = first * c - second * s;
    head[j + half] = second * c + first * s;
  }
}

double activation(spec::Activation act, double x) {
  switch (act) {
  case spec::Activation::Silu:
    return x / (1.0 + std::exp(-x)); // x * sigmoid(x)
  case spec::Activation::GeluTanh: {
    const double kPi = 3.14159265358979323846;
    double inner = std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x);
    return 0.5 * x * (1.0 + std::tanh(inner));
  }
  }
  return 0;
}

// h += o_proj(causal attention(rmsnorm(h, input_layernorm))).
void attentionBlock(const spec::ModelSpec &spec, const Checkpoint &checkpoint,
                    int64_t layer, Rows &hidden) {
  const int64_t T = hidden.count;
  const int64_t headDim = spec.headDim;
  const int64_t heads = spec.numHeads;
  const int64_t kvHeads = spec.numKvHeads;
  const int64_t queriesPerKv = heads / kvHeads;
  const Tensor &norm = checkpoint.get(layerTensor(layer, "input_layernorm.weight"));
  const Tensor &wq = checkpoint.get(layerTensor(layer, "self_attn.q_proj.weight"));
  const Tensor &wk = checkpoint.get(layerTensor(layer, "self_attn.k_proj.weight"));
  const Tensor &wv = checkpoint.get(layerTensor(layer, "self_attn.v_proj.weight"));
  const Tensor &wo = checkpoint.get(layerTensor(layer, "self_attn.o_proj.weight"));

  Rows q(T, heads * headDim), k(T, kvHeads * headDim), v(T, kvHeads * headDim);
  std::vector<double> x(hidden.width);
  for (int64_t t = 0; t < T; ++t) {
    rmsNorm(hidden.row(t), norm, spec.rmsNormEps, x.data());
    linear(wq, x.data(), q.width, hidden.width, q.row(t));
    linear(wk, x.data(), k.width, hidden.width, k.row(t));
    linear(wv, x.data(), v.width, hidden.width, v.row(t));
    for (int64_t head = 0; head < heads; ++head)
      applyRope(q.row(t) + head * headDim, headDim, t, spec.ropeTheta);
    for (int64_t head = 0; head < kvHeads; ++head)
      applyRope(k.row(t) + head * headDim, headDim, t, spec.ropeTheta);
  }

  Rows attended(T, heads * headDim);
  const double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
  std::vector<double> probs(T);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t head = 0; head < heads; ++head) {
      const double *query = q.row(t) + head * headDim;
      const int64_t kvHead = head / queriesPerKv;
      // Causal: query t sees keys s <= t.
      double maxScore = -HUGE_VAL;
      for (int64_t s = 0; s <= t; ++s) {
        const double *key = k.row(s) + kvHead * headDim;
        double dot = 0;
        for (int64_t d = 0; d < headDim; ++d)
          dot += query[d] * key[d];
        probs[s] = dot * scale;
        maxScore = std::max(maxScore, probs[s]);
      }
      double total = 0;
      for (int64_t s = 0; s <= t; ++s) {
        probs[s] = std::exp(probs[s] - maxScore);
        total += probs[s];
      }
      double *out = attended.row(t) + head * headDim;
      for (int64_t s = 0; s <= t; ++s) {
        const double *value = v.row(s) + kvHead * headDim;
        for (int64_t d = 0; d < headDim; ++d)
          out[d] += probs[s] / total * value[d];
      }
    }
  }

  std::vector<double> projected(hidden.width);
  for (int64_t t = 0; t < T; ++t) {
    linear(wo, attended.row(t), hidden.width, attended.width, projected.data());
    for (int64_t i = 0; i < hidden.width; ++i)
      hidden.row(t)[i] += projected[i];
  }
}

// h += down[:, :w] (act(gate[:w] x) * up[:w] x), x = rmsnorm(h, post norm).
void ffnBlock(const spec::ModelSpec &spec, const Checkpoint &checkpoint,
              int64_t layer, int64_t width, Rows &hidden) {
  const Tensor &norm =
      checkpoint.get(layerTensor(layer, "post_attention_layernorm.weight"));
  const Tensor &gate = checkpoint.get(layerTensor(layer, "mlp.gate_proj.weight"));
  const Tensor &up = checkpoint.get(layerTensor(layer, "mlp.up_proj.weight"));
  const Tensor &down = checkpoint.get(layerTensor(layer, "mlp.down_proj.weight"));
  assert(width <= gate.rows() && width <= down.cols());

  std::vector<double> x(hidden.width), gated(width), lifted(width),
      projected(hidden.width);
  for (int64_t t = 0; t < hidden.count; ++t) {
    rmsNorm(hidden.row(t), norm, spec.rmsNormEps, x.data());
    linear(gate, x.data(), width, hidden.width, gated.data());
    linear(up, x.data(), width, hidden.width, lifted.data());
    for (int64_t n = 0; n < width; ++n)
      gated[n] = activation(spec.act, gated[n]) * lifted[n];
    linear(down, gated.data(), hidden.width, width, projected.data());
    for (int64_t i = 0; i < hidden.width; ++i)
      hidden.row(t)[i] += projected[i];
  }
}

} // namespace

std::vector<double> forwardLogits(const spec::ModelSpec &spec,
                                  const Checkpoint &checkpoint,
                                  const spec::Mix &mix,
                                  const std::vector<int64_t> &tokens) {
  assert(static_cast<int64_t>(mix.size()) == spec.numLayers);
  const int64_t T = static_cast<int64_t>(tokens.size());
  const int64_t H = spec.hiddenSize;
  const Tensor &embed = checkpoint.get("model.embed_tokens.weight");

  Rows hidden(T, H);
  for (int64_t t = 0; t < T; ++t) {
    assert(tokens[t] >= 0 && tokens[t] < spec.vocabSize);
    for (int64_t i = 0; i < H; ++i)
      hidden.row(t)[i] = embed.at(tokens[t], i);
  }

  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    const spec::LayerChoice &choice = mix[layer];
    if (choice.skip) // the hidden state passes through untouched
      continue;
    attentionBlock(spec, checkpoint, layer, hidden);
    if (choice.width > 0) // width 0: no FFN, only the residual
      ffnBlock(spec, checkpoint, layer, choice.width, hidden);
  }

  const Tensor &finalNorm = checkpoint.get("model.norm.weight");
  const Tensor &head = spec.tieWordEmbeddings
                           ? embed
                           : checkpoint.get("lm_head.weight");
  std::vector<double> logits(T * spec.vocabSize);
  std::vector<double> x(H);
  for (int64_t t = 0; t < T; ++t) {
    rmsNorm(hidden.row(t), finalNorm, spec.rmsNormEps, x.data());
    linear(head, x.data(), spec.vocabSize, H, logits.data() + t * spec.vocabSize);
  }
  return logits;
}

} // namespace matc::reference
