#ifndef MATRT_MODELCOST_H
#define MATRT_MODELCOST_H

#include "matc/spec/Mix.h"
#include "matc/spec/ModelSpec.h"
#include "matc/spec/Safetensors.h"

#include <cstdint>

namespace matrt {

// The work one token costs under a Mix'n'Match submodel, counted from the
// spec, so bench can report speeds as fractions of the machine's peak.
struct ModelCost {
  // 2 x the multiply-adds of every matmul run for one token: per kept layer
  // the q, k, v and o projections and the FFN at the layer's width (gate, up
  // and down: 3 x hidden x width), plus the LM head. Attention scores and
  // their weighted sum grow with the context and are left out here; see
  // attentionFlopsPerToken.
  int64_t flopsPerToken = 0;
  // Weight bytes one decoded token reads: per kept layer the attention
  // projections, the two norms and the FFN rows/columns [0, width); the final
  // norm; and the LM head (the embedding matrix itself when tied). The one
  // embedding row looked up per token is negligible and left out. Skipped
  // layers and FFN neurons past the width are never read.
  int64_t weightBytesPerToken = 0;
};

ModelCost computeModelCost(const matc::spec::ModelSpec &spec,
                           const matc::spec::Mix &mix,
                           matc::spec::DType weightDtype);

// FLOPs of attention itself for one token attending over `contextLength`
// positions: per kept layer, QK^T and the weighted sum of V, each
// heads x head_dim x contextLength multiply-adds.
int64_t attentionFlopsPerToken(const matc::spec::ModelSpec &spec,
                               const matc::spec::Mix &mix,
                               int64_t contextLength);

} // namespace matrt

#endif // MATRT_MODELCOST_H
