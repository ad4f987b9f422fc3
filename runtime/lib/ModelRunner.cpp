#include "matrt/ModelRunner.h"

#include <limits>

namespace matrt {

using matc::spec::Diagnostics;

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
  return runner;
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
          keyCache.as<float>(), valueCache.as<float>(), weights);
  nextPosition += count;
  return true;
}

} // namespace matrt
