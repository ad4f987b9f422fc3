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

def AddTrainingLosses
    : Pass<"matformer-add-training-losses", "mlir::ModuleOp"> {
  let summary = "Add one loss function per training granularity";
  let description = [{
    For each entry i of `granularities`, adds `func.func private
    @training_loss_<i>(%tokens: tensor<?xi32>) -> tensor<f32>`: a copy of
    the universal `@forward` on tokens[0, n) followed by
    `matformer.cross_entropy ... reduction mean` against tokens[1, n + 1)
    (the argument holds n + 1 tokens). It carries `matformer.mix` with every
    layer at width granularities[i] clamped to that layer's d_ff (for
    `matformer-specialize-mix`), `matformer.granularity = i` and
    `matformer.differentiate` (for `matformer-reverse-mode`). Runs on the
    importer's output, before specialization.
  }];
  let options = [
    ListOption<"granularities", "granularities", "int64_t",
               "The FFN widths to train at, in the spec's order">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
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

    The same forward also becomes `func.func @matc_loss_impl` (the
    arguments of `matc_model_loss`: `num_tokens`, `tokens: memref<P+1 x
    i32>`, `loss: memref<1 x f32>`, the caches, `layer_widths`, the
    weights): every row through the LM head, then `matformer.cross_entropy`
    (sum) against tokens[1, num_tokens + 1), from position 0. The two
    entries share their layers (`matformer-outline-layers`).

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

def ReverseMode : Pass<"matformer-reverse-mode", "mlir::ModuleOp"> {
  let summary = "Differentiate loss functions with respect to their weights";
  let description = [{
    Every function marked `matformer.differentiate`, returning one
    `tensor<f32>` loss of its arguments, is rewritten to return the loss and
    then the gradient of each argument tagged `matformer.weight`, in argument
    order (zeros for a weight the loss does not read), and is marked
    `matformer.gradients`. Only f32 weights train.

    The pass knows no op: it seeds d loss = 1, walks the function
    backwards and asks every op that a gradient reaches for its operands'
    gradients through `matformer::DifferentiableOpInterface`, summing the
    gradients of values used more than once (a tied embedding gets the
    embedding's and the LM head's). An op the loss depends on without the
    interface is an error at that op. A `decoder_layer` is structure: its
    backward is a private function `@decoder_layer_backward(input,
    captured..., d output) -> (d input, d captured float tensors...)` that
    recomputes the layer's body and sweeps it the same way, shared by every
    layer with the same body (so a uniform granularity generates one).
    Activations: the values of the function's own forward (the layers'
    inputs and outputs, the final norm, the logits) are kept for the
    backward; inside a layer, and inside each op, they are recomputed.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BindTrainingAbi : Pass<"matformer-bind-training-abi", "mlir::ModuleOp"> {
  let summary = "Build the training entry points from the gradient functions";
  let description = [{
    With functions marked `matformer.gradients` (the training losses after
    `matformer-reverse-mode`, each with its `matformer.granularity`), adds
    the generated halves of matc/abi/ModelAbi.h's training entry points,
    tables in the weight order of `@matc_forward_impl`:
    `@matc_train_step_impl` (for each granularity i, under
    `scf.if loss_weights[i] != 0`: call its gradient function on
    tokens[0, seq_len + 1), store losses[i], add loss_weights[i] times each
    gradient into the grads table), `@matc_grad_squared_norm_impl` and
    `@matc_adamw_step_impl` (elementwise linalg over every weight, in
    place). Table arguments are tagged with their weight's name and, except
    for the weights, `matformer.abi_arg = "<table>"`. Without gradient
    functions the pass does nothing.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
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

def KeepLayerActivations
    : Pass<"matformer-keep-layer-activations", "mlir::ModuleOp"> {
  let summary = "Compute a layer's backward-only forward values once, in its forward";
  let description = [{
    Runs on linalg on tensors. Where a block calls a private function F and
    later a private function B whose leading operands are F's operands
    (a decoder layer's forward and its backward from
    `matformer-reverse-mode`), the ops of B that read only those operands
    (B's primal part: the recomputed layer body, the FFN's gate and up,
    the attention probabilities) move into a copy of F, `@<F>_keeping`,
    which also returns the values B's other ops read from them (the tape);
    B becomes `@<B>_reading`, which takes the tape as extra arguments. Ops
    that read no computed data (empty tensors, fills, views, index
    arithmetic) stay in B rather than be kept. Run CSE after it: the moved
    ops that F already computes merge with F's. F and B are erased when no
    call is left to them.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def AccumulateIntoContractions
    : Pass<"matformer-accumulate-into-contractions", "mlir::ModuleOp"> {
  let summary = "Fold R + A.B into a contraction that starts from R";
  let description = [{
    Runs on linalg on tensors, after convert-elementwise-to-linalg. An
    elementwise add (a `linalg.generic` with identity maps whose body is
    `in0 + in1`) of R and the result of a contraction (a linalg op with a
    reduction loop) whose init is a `linalg.fill` with zero and whose
    result has no other use becomes that contraction with R as its init.
    These are the residual adds after attention's output projection and
    the FFN's down projection, and in the backward dX = dY1 W1 + dY2 W2 and
    gradients summed into their slots. The fill and the add's pass over
    three tensors are gone; the kernels load their output block before they
    accumulate, so no back end changes. Adds of anything else are left
    alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif
