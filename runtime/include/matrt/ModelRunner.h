#ifndef MATRT_MODELRUNNER_H
#define MATRT_MODELRUNNER_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matrt/AlignedBuffer.h"
#include "matrt/Manifest.h"
#include "matrt/ModelAbi.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace matrt {

// Which logit rows a run() asks the forward function for (its num_logits).
// The LM head is a large part of a prefill, so a caller that samples only
// the next token asks for the last row alone.
enum class LogitRows {
  All,  // one per token of the run: forward, eval, speculative verification
  Last, // the last token's only: prefill before sampling, decode
};

// Owns the KV cache of one sequence and drives the forward function over it:
// prefill is one run() with the whole prompt, decode is one run() per token.
// run() checks the preconditions the generated code relies on, so a bad token
// or an overlong sequence is an error here and never out-of-bounds memory
// access there.
//
// A runner also carries the mix it runs, as the per-layer widths every
// forward call receives. Several runners may share one set of weights (say,
// a main and a draft mix for speculative decoding), each with its own cache
// or, after shareCacheOf, one cache.
class ModelRunner {
public:
  // `weights` must outlive the runner: it holds one pointer per manifest
  // weight. The runner starts with the manifest's mix (the compiled one, or
  // the spec's default for an elastic binary). Fails (with a diagnostic) only
  // when the cache cannot be allocated. `loss`, the binary's
  // matc_model_loss when it exports one, makes sequenceLoss available.
  static std::unique_ptr<ModelRunner> create(const Manifest &manifest,
                                             matc::abi::ForwardFn forward,
                                             void *const *weights,
                                             matc::spec::Diagnostics &diags,
                                             matc::abi::LossFn loss = nullptr);

  // Switches to `mix` and starts a new sequence. The generated code trusts
  // the widths, so they are checked here: one choice per layer of the spec,
  // each width in [0, that layer's d_ff]; a binary compiled for one mix takes
  // only that mix. On failure the runner keeps its mix.
  bool setMix(const matc::spec::Mix &mix, matc::spec::Diagnostics &diags);

  // Runs `tokens` at positions [position(), position() + tokens.size()),
  // stores their K/V, keeps the logit rows `rows` asks for (see rowLogits)
  // and advances position(). On a precondition failure nothing runs.
  bool run(const std::vector<int32_t> &tokens, matc::spec::Diagnostics &diags,
           LogitRows rows);

  // Whether the binary's generated loss (matc_model_loss) is available.
  bool hasLoss() const { return loss != nullptr; }
  // With the generated loss: `sum` = the sum over t < tokens.size() - 1 of
  // -log softmax(logits after tokens[0..t])[tokens[t + 1]], for one sequence
  // from position 0 under the runner's mix. The caches serve as scratch, so
  // a new sequence starts (position() is 0 afterwards). Checks what the
  // generated code relies on: 2 <= tokens.size() <= max_positions + 1 and
  // every token in the vocabulary.
  bool sequenceLoss(const std::vector<int32_t> &tokens, double &sum,
                    matc::spec::Diagnostics &diags);

  // Starts a new sequence. Stale cache entries need no clearing: positions
  // are always written before they are attended over.
  void reset() { nextPosition = 0; }
  // Forgets every position from `length` on (length <= position()), so the
  // next run() continues from there. Attention only reads the positions
  // before the end of the run, so the forgotten cache rows are simply
  // overwritten later; speculative decoding uses this to drop rejected
  // draft tokens.
  void rewind(int64_t length);

  // Makes this runner attend over, and write into, `owner`'s KV cache
  // instead of its own, which is released. Both runners must come from the
  // same manifest, and `owner` must outlive this one. Speculative decoding
  // with a shared cache uses it: the draft then attends over the main
  // model's K/V at every accepted position (the MatFormer paper's shared
  // attention cache).
  void shareCacheOf(const ModelRunner &owner);
  // Whether this runner uses `other`'s cache (shareCacheOf(other)).
  bool sharesCacheOf(const ModelRunner &other) const {
    return cacheOwner == &other;
  }
  // Continues at `position` (0 <= position <= max_positions, else nothing
  // changes): the cache rows before it count as written, by this runner or
  // by the one whose cache it shares.
  void seek(int64_t position);
  int64_t position() const { return nextPosition; }
  int64_t maxPositions() const { return manifest.maxPositions; }
  int64_t vocabSize() const { return manifest.vocabSize; }
  const matc::spec::Mix &mix() const { return currentMix; }
  // What every forward call receives: per layer the FFN width, or
  // matc::abi::kSkippedLayerWidth.
  const std::vector<int64_t> &layerWidths() const { return widths; }
  // Logit rows of the last run are numbered by the token of that run they
  // follow: row i is the prediction after tokens[i]. LogitRows::All keeps
  // rows [0, tokens.size()), LogitRows::Last only row tokens.size() - 1;
  // the rows kept are [firstLogitRow(), endLogitRow()).
  int64_t firstLogitRow() const { return firstRow; }
  int64_t endLogitRow() const { return endRow; }
  // The rows kept, row-major [endLogitRow() - firstLogitRow()][vocab].
  const std::vector<float> &logits() const { return lastLogits; }
  // Row `row` of the last run (numbered as above), or null if it was not
  // kept.
  const float *rowLogits(int64_t row) const {
    if (row < firstRow || row >= endRow)
      return nullptr;
    return lastLogits.data() + (row - firstRow) * manifest.vocabSize;
  }
  // The prediction after the last token run: kept whatever LogitRows said;
  // null before the first run.
  const float *lastRowLogits() const { return rowLogits(endRow - 1); }
  const Manifest &model() const { return manifest; }

private:
  ModelRunner(const Manifest &manifest, matc::abi::ForwardFn forward,
              matc::abi::LossFn loss, void *const *weights)
      : manifest(manifest), forward(forward), loss(loss), weights(weights) {}

  bool checkTokens(const std::vector<int32_t> &tokens, int64_t firstPosition,
                   matc::spec::Diagnostics &diags) const;

  const Manifest &manifest;
  matc::abi::ForwardFn forward;
  matc::abi::LossFn loss;
  void *const *weights;
  matc::spec::Mix currentMix;
  std::vector<int64_t> widths;
  AlignedBuffer keyCache;
  AlignedBuffer valueCache;
  // The caches every call uses: this runner's own, or its cacheOwner's.
  float *keys = nullptr;
  float *values = nullptr;
  const ModelRunner *cacheOwner = nullptr;
  std::vector<float> lastLogits;
  int64_t firstRow = 0;
  int64_t endRow = 0;
  int64_t nextPosition = 0;
};

// The forward function's layer_widths for `mix`.
std::vector<int64_t> layerWidthsOf(const matc::spec::Mix &mix);

// The machine's physical memory (sysconf), or 0 when unknown. ModelRunner
// refuses KV caches larger than it before allocating them.
uint64_t physicalMemoryBytes();

} // namespace matrt

#endif // MATRT_MODELRUNNER_H
