//===- CheckpointEdit.h - Test-only checkpoint rewrites -------------------===//
//
// Expresses a Mix'n'Match choice as plain weights instead of loop bounds, so
// the tests can check the reference's handling of widths and skipped layers
// against an independent construction (docs/REFERENCE.md, Checkpoints:
// "any Mix'n'Match submodel equals that Llama with the unused FFN neurons
// zeroed").
//
//===----------------------------------------------------------------------===//

#ifndef MATC_TEST_E2E_CHECKPOINTEDIT_H
#define MATC_TEST_E2E_CHECKPOINTEDIT_H

#include "ReferenceModel.h"

namespace matc::reference {

// Writes the same tensors as F32 with, per layer of `mix`:
//  - width w: gate/up rows [w, d_ff) and down columns [w, d_ff) zeroed;
//  - skip: o_proj and down_proj zeroed, so the layer adds nothing.
// The result run as the full model (mix XL) equals `mix` on the original.
bool writeZeroedCheckpoint(const spec::ModelSpec &spec,
                           const Checkpoint &checkpoint, const spec::Mix &mix,
                           const std::string &path, spec::Diagnostics &diags);

// Writes DIR/model.safetensors (F32) and DIR/config.json for the sliced
// submodel, the form `matc extract` produces: skipped layers removed and
// renumbered, FFN tensors cut to each layer's width (none at width 0), and
// `intermediate_size` a per-layer list.
bool writeSlicedModel(const spec::ModelSpec &spec, const Checkpoint &checkpoint,
                      const spec::Mix &mix, const std::string &directory,
                      spec::Diagnostics &diags);

} // namespace matc::reference

#endif // MATC_TEST_E2E_CHECKPOINTEDIT_H
