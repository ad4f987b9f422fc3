#ifndef MATC_PASSES_PASSES_TD
#define MATC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpecializeMix : Pass<"matformer-specialize-mix", "mlir::ModuleOp"> {
  let summary = "Fix every layer's FFN width from a Mix'n'Match choice";
  let description = [{
    Applies a MIX (docs/REFERENCE.md, Mix'n'Match syntax): every
    `nested_ffn` gets a static width; width `0` removes the FFN and its
    residual add; `skip` removes the whole `decoder_layer`. Records the
    choice as the module attribute `matformer.mix` and canonicalizes, so dead
    norms and weights reads go.
    Without `mix`, the module's `matformer.default_mix` applies, then `XL`.
  }];
  let options = [
    Option<"mix", "mix", "std::string", /*default=*/"",
           "MIX: one token for all layers (XL, S, g2, 768), a comma list, "
           "@file.json or inline MatFormer Lab JSON">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def VerifyNesting : Pass<"matformer-verify-nesting", "mlir::ModuleOp"> {
  let summary = "Check the nesting invariants across a whole model";
  let description = [{
    Checks what no single op can see: decoder layers are numbered in
    increasing order without repeats; every `nested_ffn` sits in a layer and
    reads that layer's `mlp.{gate,up,down}_proj` weights; all layers share
    one set of granularities; and, in a specialized module, each layer's
    width equals its entry in `matformer.mix`. With `require-trained-widths`
    a width that is not a trained granularity is an error (by default such
    widths are allowed: specialization already warned about them).
  }];
  let options = [
    Option<"requireTrainedWidths", "require-trained-widths", "bool",
           /*default=*/"false",
           "Reject widths that are not one of the trained granularities">,
  ];
}

def BindRuntimeAbi : Pass<"matformer-bind-runtime-abi", "mlir::ModuleOp"> {
  let summary = "Turn `@forward` into the entry point the runtime calls";
  let description = [{
    Replaces `func.func @forward(tensor<?xi32>) -> tensor<?xVxf32>` with
    `func.func @matc_forward_impl(%num_tokens: index, %start_pos: index,
    %tokens: memref<P x i32>, %logits: memref<P x V x f32>,
    %k_cache, %v_cache: memref<L x P x KV x D x f32>, %weights...)`, with
    P = max positions and L = layers kept. Every memref has a static shape,
    so the runtime passes plain pointers. Weights become arguments in the
    order the model first reads them (recorded in `matformer.abi.weights`),
    and each attention gets its layer's slice of the caches.

    The entry also takes `%layer_widths: memref<N x i64>`, one entry per
    layer of the universal model. A specialized module ignores it. With
    `elastic`, it is the Mix'n'Match choice of each call: every `nested_ffn`
    runs at `runtime_width` loaded from it, and a layer whose entry is -1 is
    skipped (an `scf.if` around the layer), so one binary runs every MIX.
  }];
  let options = [
    Option<"elastic", "elastic", "bool", /*default=*/"false",
           "Widths come from the layer_widths argument at run time">,
  ];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def ConvertMatFormerToLinalg
    : Pass<"convert-matformer-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower matformer ops to linalg, tensor, arith and math";
  let description = [{
    Each op becomes linalg.generic ops on tensors: matmuls against [out, in]
    weights, RMSNorm as a reduction and a scale, RoPE on the two halves of
    each head, causal softmax attention over the KV cache, and the nested FFN
    as matmuls on `tensor.extract_slice` views of the universal weights
    (offset 0, the width static or an SSA value), so no weight is copied.
    Decoder layers are inlined. Weights must already be values
    (`matformer-bind-runtime-abi`, or function arguments in tests).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def MemRefCopyToLinalg : Pass<"matc-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    Bufferization copies with `memref.copy`, whose LLVM lowering calls
    `memrefCopy` from MLIR's runner-utils library for strided views (the KV
    cache slices). As `linalg.copy` the copy becomes loops in the generated
    code, and compiled models need no MLIR library at run time.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def VectorizeMatmuls : Pass<"matc-vectorize-matmuls"> {
  let summary = "Lower [M, K] x [N, K]^T matmuls to register-blocked vector loops";
  let description = [{
    Every projection in a MatFormer multiplies activations [M, K] by a weight
    stored [out, in] = [N, K]. This pass replaces such a linalg.generic (on
    buffers, unit stride along K) with an `scf.parallel` over blocks of 4
    output columns; inside, blocks of 4 rows run a 4 x 4 register kernel: 16
    vector<16xf32> accumulators along K, so each loaded weight vector serves 4
    tokens and each activation vector 4 outputs. Leftover rows use a 1 x 4
    kernel (decode, M = 1), leftover columns a 1 x 1 kernel, and the last
    K mod 16 products a scalar loop. bf16 weights widen to f32 in registers.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif
