#ifndef MATC_DIALECT_MATFORMERDIALECT_TD
#define MATC_DIALECT_MATFORMERDIALECT_TD

include "mlir/IR/OpBase.td"

def MatFormer_Dialect : Dialect {
  let name = "matformer";
  let cppNamespace = "::matc::matformer";
  let summary = "MatFormer models: nested FFNs, granularities and Mix'n'Match choices";
  let description = [{
    A MatFormer decoder as a handful of coarse ops (embed, rms_norm, attention,
    nested_ffn, lm_head) grouped into `decoder_layer` regions. Nesting is a
    first-class concept: a `nested_ffn` carries its trained granularities and
    the width it runs at, either a static attribute (a specialized submodel)
    or an SSA `index` value (an elastic binary that picks the width at run
    time). Weights are module-level `weight` symbols named by their checkpoint
    tensor names until `matformer-weights-to-arguments` makes them function
    arguments (tagged `matformer.weight = "name"`); slicing a nested FFN is a
    view of the universal weights. A function that computes one submodel
    carries its choice as `matformer.mix = #matformer.mix<[...]>`, so one
    module can hold several submodels.
  }];
  let useDefaultAttributePrinterParser = 1;
  // matformer.* attributes on modules, functions and function arguments
  // (the mix a function computes, max positions, weight names) are checked
  // by the dialect, wherever they appear.
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

#endif
