#include "matrt/ModelRunner.h"

#include <unistd.h>

namespace matrt {

using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::Mix;

uint64_t physicalMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0)
    return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize);
}

std::vector<int64_t> layerWidthsOf(const Mix &mix) {
  std::vector<int64_t> widths;
  widths.reserve(mix.size());
  for (const matc::spec::LayerChoice &layer : mix)
    widths.push_back(layer.skip ? matc::abi::kSkippedLayerWidth : layer.width);
  return widths;
}

std::unique_ptr<ModelRunner> ModelRunner::create(const Manifest &manifest,
                                                 matc::abi::ForwardFn forward,
                                                 void *const *weights,
                                                 Diagnostics &diags,
                                                 matc::abi::LossFn loss) {
  std::unique_ptr<ModelRunner> runner(
      new ModelRunner(manifest, forward, loss, weights));
  // The caches' layouts are the generated code's; the runtime allocates
  // their element counts, which parseManifest checked and bounded by
  // kMaxBufferElements, so the byte counts cannot overflow.
  const BufferSpec &kCache = manifest.buffer("k_cache");
  const BufferSpec &vCache = manifest.buffer("v_cache");
  uint64_t kElements = static_cast<uint64_t>(kCache.numElements());
  uint64_t vElements = static_cast<uint64_t>(vCache.numElements());
  // Refused before allocating: with overcommit a cache larger than the
  // machine would be granted, then fail page by page.
  uint64_t cacheBytes = (kElements + vElements) * sizeof(float);
  uint64_t physical = physicalMemoryBytes();
  if (physical != 0 && cacheBytes > physical) {
    diags.error("KV cache",
                "needs " + std::to_string(cacheBytes) +
                    " bytes (buffers k_cache and v_cache), more than this "
                    "machine's " +
                    std::to_string(physical) + " bytes of memory");
    return nullptr;
  }
  runner->keyCache = AlignedBuffer(kElements * sizeof(float));
  runner->valueCache = AlignedBuffer(vElements * sizeof(float));
  if (!runner->keyCache.ok() || !runner->valueCache.ok()) {
    diags.error("KV cache", "cannot allocate " + std::to_string(kElements) +
                                " + " + std::to_string(vElements) +
                                " floats (buffers k_cache and v_cache)");
    return nullptr;
  }
  runner->keys = runner->keyCache.as<float>();
  runner->values = runner->valueCache.as<float>();
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

bool ModelRunner::checkTokens(const std::vector<int32_t> &tokens,
                              int64_t firstPosition, Diagnostics &diags) const {
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= vocabSize()) {
      diags.error("",
                  "token at position " +
                      std::to_string(firstPosition + static_cast<int64_t>(i)) +
                      " is " + std::to_string(tokens[i]) +
                      ", outside the vocabulary [0, " +
                      std::to_string(vocabSize()) + ")");
      return false;
    }
  return true;
}

bool ModelRunner::sequenceLoss(const std::vector<int32_t> &tokens, double &sum,
                               Diagnostics &diags) {
  if (!loss) {
    diags.error("", "this binary exports no " +
                        std::string(matc::abi::kLossSymbol));
    return false;
  }
  // Inputs tokens[0, count), targets tokens[1, count + 1).
  int64_t count = static_cast<int64_t>(tokens.size()) - 1;
  if (count < 1 || count > maxPositions()) {
    diags.error("", std::to_string(tokens.size()) +
                        " tokens: a loss needs 2 to max_positions + 1 (" +
                        std::to_string(maxPositions() + 1) + ")");
    return false;
  }
  if (!checkTokens(tokens, 0, diags))
    return false;
  float result = 0;
  loss(count, tokens.data(), &result, keys, values, widths.data(), weights);
  sum = result;
  nextPosition = 0;
  return true;
}

void ModelRunner::shareCacheOf(const ModelRunner &owner) {
  keys = owner.keys;
  values = owner.values;
  cacheOwner = &owner;
  keyCache = AlignedBuffer();
  valueCache = AlignedBuffer();
}

void ModelRunner::seek(int64_t position) {
  if (position >= 0 && position <= maxPositions())
    nextPosition = position;
}

void ModelRunner::rewind(int64_t length) {
  if (length >= 0 && length < nextPosition)
    nextPosition = length;
}

bool ModelRunner::run(const std::vector<int32_t> &tokens, Diagnostics &diags,
                      LogitRows rows) {
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
  if (!checkTokens(tokens, nextPosition, diags))
    return false;
  // 1 <= numLogits <= count, as the generated code assumes.
  int64_t numLogits = rows == LogitRows::All ? count : 1;
  // No zero fill: the forward function writes every logit it is asked for.
  lastLogits.resize(static_cast<std::size_t>(numLogits * vocabSize()));
  forward(count, nextPosition, numLogits, tokens.data(), lastLogits.data(),
          keys, values, widths.data(), weights);
  firstRow = count - numLogits;
  endRow = count;
  nextPosition += count;
  return true;
}

} // namespace matrt
