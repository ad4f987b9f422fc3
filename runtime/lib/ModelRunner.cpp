#include "matrt/ModelRunner.h"

#include <limits>

namespace matrt {

using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::Mix;

std::vector<int64_t> layerWidthsOf(const Mix &mix) {
  std::vector<int64_t> widths;
  widths.reserve(mix.size());
  for (const matc::spec::LayerChoice &layer : mix)
    widths.push_back(layer.skip ? kSkippedLayerWidth : layer.width);
  return widths;
}

std::unique_ptr<ModelRunner> ModelRunner::create(const Manifest &manifest,
                                                 ForwardFn forward,
                                                 void *const *weights,
                                                 Diagnostics &diags) {
  std::unique_ptr<ModelRunner> runner(
      new ModelRunner(manifest, forward, weights));
  // Manifest parsing bounds every dimension by 2^20; the product of four such
  // could still overflow, so check before multiplying by the element size.
  const KvCacheShape &shape = manifest.kvCache;
  uint64_t elements = 1;
  bool overflow = false;
  for (int64_t dim :
       {shape.layers, shape.maxPositions, shape.kvHeads, shape.headDim})
    overflow |=
        __builtin_mul_overflow(elements, static_cast<uint64_t>(dim), &elements);
  overflow |= elements > std::numeric_limits<uint64_t>::max() / sizeof(float);
  if (!overflow) {
    runner->keyCache = AlignedBuffer(elements * sizeof(float));
    runner->valueCache = AlignedBuffer(elements * sizeof(float));
  }
  if (overflow || !runner->keyCache.ok() || !runner->valueCache.ok()) {
    diags.error("KV cache",
                "cannot allocate 2 x " + std::to_string(elements) +
                    " floats (layers " + std::to_string(shape.layers) +
                    " x max_positions " + std::to_string(shape.maxPositions) +
                    " x kv_heads " + std::to_string(shape.kvHeads) +
                    " x head_dim " + std::to_string(shape.headDim) + ")");
    return nullptr;
  }
  runner->currentMix = manifest.mix;
  runner->widths = layerWidthsOf(manifest.mix);
  return runner;
}

bool ModelRunner::setMix(const Mix &mix, Diagnostics &diags) {
  const matc::spec::ModelSpec &spec = manifest.spec;
  if (static_cast<int64_t>(mix.size()) != spec.numLayers) {
    diags.error("mix", std::to_string(mix.size()) +
                           " layer choices; the "
                           "model has " +
                           std::to_string(spec.numLayers) + " layers");
    return false;
  }
  for (std::size_t layer = 0; layer < mix.size(); ++layer) {
    int64_t maxWidth = spec.intermediateSize[layer];
    if (!mix[layer].skip &&
        (mix[layer].width < 0 || mix[layer].width > maxWidth)) {
      diags.error("mix", "layer " + std::to_string(layer) + " width " +
                             std::to_string(mix[layer].width) +
                             " is outside [0, " + std::to_string(maxWidth) +
                             "]");
      return false;
    }
  }
  if (!manifest.elastic && mix != manifest.mix) {
    diags.error("mix", "this binary was compiled for mix " +
                           formatMix(manifest.mix) + " and cannot run " +
                           formatMix(mix));
    return false;
  }
  currentMix = mix;
  widths = layerWidthsOf(mix);
  nextPosition = 0;
  return true;
}

void ModelRunner::rewind(int64_t length) {
  if (length >= 0 && length < nextPosition)
    nextPosition = length;
}

bool ModelRunner::run(const std::vector<int32_t> &tokens, Diagnostics &diags) {
  int64_t count = static_cast<int64_t>(tokens.size());
  if (count == 0) {
    diags.error("", "nothing to run: at least one token is needed");
    return false;
  }
  if (count > maxPositions() - nextPosition) {
    diags.error("", "positions " + std::to_string(nextPosition) + ".." +
                        std::to_string(nextPosition + count - 1) +
                        " exceed the model's max_positions (" +
                        std::to_string(maxPositions()) + ")");
    return false;
  }
  for (int64_t i = 0; i < count; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocabSize()) {
      diags.error("", "token at position " + std::to_string(nextPosition + i) +
                          " is " + std::to_string(tokens[i]) +
                          ", outside the vocabulary [0, " +
                          std::to_string(vocabSize()) + ")");
      return false;
    }
  // No zero fill: the forward function writes every logit.
  lastLogits.resize(static_cast<std::size_t>(count * vocabSize()));
  forward(count, nextPosition, tokens.data(), lastLogits.data(),
          keyCache.as<float>(), valueCache.as<float>(), weights, widths.data());
  nextPosition += count;
  return true;
}

} // namespace matrt
