#ifndef MATRT_MODELRUNNER_H
#define MATRT_MODELRUNNER_H

#include "matc/spec/Diagnostics.h"
#include "matrt/AlignedBuffer.h"
#include "matrt/Manifest.h"
#include "matrt/ModelAbi.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace matrt {

// Owns the KV cache of one sequence and drives the forward function over it:
// prefill is one run() with the whole prompt, decode is one run() per token.
// run() checks the preconditions the generated code relies on, so a bad token
// or an overlong sequence is an error here and never out-of-bounds memory
// access there.
class ModelRunner {
public:
  // `weights` must outlive the runner: it holds one pointer per manifest
  // weight. Fails (with a diagnostic) only when the cache cannot be allocated.
  static std::unique_ptr<ModelRunner> create(const Manifest &manifest,
                                             ForwardFn forward,
                                             void *const *weights,
                                             matc::spec::Diagnostics &diags);

  // Runs `tokens` at positions [position(), position() + tokens.size()),
  // stores their K/V, leaves logits [tokens.size(), vocab] in logits() and
  // advances position(). On a precondition failure nothing runs.
  bool run(const std::vector<int32_t> &tokens, matc::spec::Diagnostics &diags);

  // Starts a new sequence. Stale cache entries need no clearing: positions
  // are always written before they are attended over.
  void reset() { nextPosition = 0; }

  int64_t position() const { return nextPosition; }
  int64_t maxPositions() const { return manifest.maxPositions; }
  int64_t vocabSize() const { return manifest.vocabSize; }
  // Logits of the last run, row-major [tokens of that run][vocab].
  const std::vector<float> &logits() const { return lastLogits; }
  const float *lastRowLogits() const {
    return lastLogits.data() + lastLogits.size() - manifest.vocabSize;
  }
  const Manifest &model() const { return manifest; }

private:
  ModelRunner(const Manifest &manifest, ForwardFn forward, void *const *weights)
      : manifest(manifest), forward(forward), weights(weights) {}

  const Manifest &manifest;
  ForwardFn forward;
  void *const *weights;
  AlignedBuffer keyCache;
  AlignedBuffer valueCache;
  std::vector<float> lastLogits;
  int64_t nextPosition = 0;
};

} // namespace matrt

#endif // MATRT_MODELRUNNER_H
