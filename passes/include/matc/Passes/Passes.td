#ifndef MATC_PASSES_PASSES_TD
#define MATC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpecializeMix : Pass<"matformer-specialize-mix", "mlir::ModuleOp"> {
  let summary = "Fix every layer's FFN width from a Mix'n'Match choice";
  let description = [{
    Applies a MIX (DESIGN.md section 3): every `nested_ffn` gets a static
    width; width `0` removes the FFN and its residual add; `skip` removes the
    whole `decoder_layer`. Records the choice as the module attribute
    `matformer.mix` and canonicalizes, so dead norms and weights reads go.
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
    a width that is not a trained granularity is an error, not a warning.
  }];
  let options = [
    Option<"requireTrainedWidths", "require-trained-widths", "bool",
           /*default=*/"false",
           "Reject widths that are not one of the trained granularities">,
  ];
}

#endif
