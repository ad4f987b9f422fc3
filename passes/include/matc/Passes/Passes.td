#ifndef MATC_PASSES_PASSES_TD
#define MATC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpecializeMix : Pass<"matformer-specialize-mix", "mlir::ModuleOp"> {
  let summary = "Fix every layer's FFN width from the function's mix";
  let description = [{
    Every function carrying `matformer.mix = #matformer.mix<[...]>` (one
    entry per layer of the universal model: a width, 0, or `skip`) whose
    `nested_ffn` ops have no width yet is specialized: each FFN gets its
    static width, width 0 removes the FFN and its residual add, `skip`
    removes the whole `decoder_layer`; then the module is canonicalized, so
    dead norms and weight reads go. Functions without the attribute stay
    universal, and already specialized ones are left alone, so one module
    may hold several submodels (say `@forward_S` and `@forward_XL`).

    The pass reads attributes only: MIX text (`S,M,L`, `@mix.json`, ...) is
    parsed once, by the driver (spec/Mix.h; docs/REFERENCE.md, Mix'n'Match
    syntax), which also warns about widths
    that are not trained granularities.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def VerifyNesting : Pass<"matformer-verify-nesting", "mlir::ModuleOp"> {
  let summary = "Check the nesting invariants across a whole model";
  let description = [{
    Checks, per function, what no single op can see: decoder layers are
    numbered in increasing order without repeats; every `nested_ffn` sits in
    a layer and reads that layer's `mlp.{gate,up,down}_proj` weights (as
    `get_weight` or as an argument tagged `matformer.weight`); all layers
    share one set of granularities; and, in a specialized function, each
    layer's width equals its entry in the function's `matformer.mix`. With `require-trained-widths`
    a width that is not a trained granularity is an error (by default such
    widths are allowed: specialization already warned about them).
  }];
  let options = [
    Option<"requireTrainedWidths", "require-trained-widths", "bool",
           /*default=*/"false",
           "Reject widths that are not one of the trained granularities">,
  ];
}

def WeightsToArguments
    : Pass<"matformer-weights-to-arguments", "mlir::ModuleOp"> {
  let summary = "Turn checkpoint tensors read by a function into its arguments";
  let description = [{
    Every function that reads `matformer.get_weight @name` gets one tensor
    argument per distinct weight, in first-read order, tagged
    `{matformer.weight = "name"}`; the reads become uses of the argument and
    the module's `matformer.weight` declarations go away. Functions become
    self-contained, so an entry point (or a training step) passes the weights
    it holds, and later passes find weights by name, not by position.
  }];
}

def BindRuntimeAbi : Pass<"matformer-bind-runtime-abi", "mlir::ModuleOp"> {
  let summary = "Turn `@forward` into the entry point the runtime calls";
  let description = [{
    Replaces `func.func @forward(%tokens: tensor<?xi32>, %weights...) ->
    tensor<?xVxf32>` (weights tagged `matformer.weight`, see
    `matformer-weights-to-arguments`) with `func.func @matc_forward_impl`
    taking the arguments of matc/abi/ModelAbi.h in its order, each tagged
    `matformer.abi_arg = "name"`: `num_tokens`, `start_pos`, `num_logits`
    (index), `tokens: memref<P x i32>`, `logits: memref<P x V x f32>`,
    `k_cache: memref<S x P x KV x D x f32>`, `v_cache: memref<S x KV x D x P
    x f32>`, `layer_widths: memref<N x i64>`, then the weights as memrefs
    (still tagged with their names). P = max positions, S = layers that keep
    a cache slot, N = layers of the universal model. Every memref has a
    static shape, so the runtime passes plain pointers.

    Each attention gets its layer's slot of the caches, through a slot
    number defined before the layer (so identical layers stay identical).
    The final norm and the LM head run on the last `num_logits` rows only.

    A function marked `matformer.elastic` keeps its widths open: every
    `nested_ffn` runs at `runtime_width` loaded from `layer_widths`, and a
    layer whose entry is -1 is skipped (an `scf.if` around it), so one
    binary runs every MIX. Otherwise every FFN must have a width.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def OutlineLayers : Pass<"matformer-outline-layers", "mlir::ModuleOp"> {
  let summary = "Generate each distinct decoder layer once and call it per layer";
  let description = [{
    Every `decoder_layer` becomes a `func.call` to a private function
    holding its body; the function takes the layer's input and every value
    the body uses from outside (its weights, the caches, its cache slot,
    the start position, a run-time width). Layers whose bodies are the same
    computation share one function, so the code of a uniform mix is
    generated once: `@decoder_layer_ffn<width>` per distinct width,
    `@decoder_layer_ffn_dynamic` for an elastic model. Run after
    `matformer-bind-runtime-abi`, which makes the per-layer differences
    (cache slot, weights) values rather than constants.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def ConvertMatFormerToLinalg
    : Pass<"convert-matformer-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower matformer ops to linalg, tensor, arith and math";
  let description = [{
    A dialect conversion (patterns and target in
    matc/Passes/MatFormerToLinalg.h, for reuse by other pipelines): each op
    becomes linalg ops on tensors: matmuls against [out, in] weights
    (contractions by linalg's ContractionOpInterface), RMSNorm as a reduction
    and a scale, the nested FFN as matmuls on `tensor.extract_slice` views of
    the universal weights (offset 0, the width static or an SSA value, so no
    weight is copied). Attention becomes its q/k/v/o projections, RoPE and
    the K/V cache writes, around one `matformer.causal_attention` for the
    core (causal softmax(q k^T / sqrt(d)) v against the cache), which each
    back end lowers its own way (CPU: `matc-cpu-lower-attention`). Its
    backward, `matformer.causal_attention_grad`, becomes linalg here: the
    probabilities recomputed from the whole [heads, T, S] scores, then the
    contractions for dV, dP, dQ and dK. Decoder layers are inlined. Weights must already be values
    (`matformer-bind-runtime-abi`, or function arguments in tests); any
    other matformer op left over is an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif
