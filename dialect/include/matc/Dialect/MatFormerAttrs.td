#ifndef MATC_DIALECT_MATFORMERATTRS_TD
#define MATC_DIALECT_MATFORMERATTRS_TD

include "matc/Dialect/MatFormerDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def MatFormer_ActivationKind : I32EnumAttr<"Activation",
    "gated FFN activation", [
      I32EnumAttrCase<"silu", 0>,
      I32EnumAttrCase<"gelu_tanh", 1>
    ]> {
  let cppNamespace = "::matc::matformer";
}

def MatFormer_LossReductionKind : I32EnumAttr<"LossReduction",
    "how a loss combines the per-token losses", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>
    ]> {
  let cppNamespace = "::matc::matformer";
}

class MatFormer_Attr<string name, string attrMnemonic>
    : AttrDef<MatFormer_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def MatFormer_GranularitiesAttr
    : MatFormer_Attr<"Granularities", "granularities"> {
  let summary = "the nested FFN widths m_1 < ... < m_g a model was trained with";
  let parameters = (ins ArrayRefParameter<"int64_t">:$widths);
  let assemblyFormat = "`<` `[` $widths `]` `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t largest() const { return getWidths().back(); }
    bool contains(int64_t width) const;
  }];
}

def MatFormer_MixAttr : MatFormer_Attr<"Mix", "mix"> {
  let summary = "a Mix'n'Match choice: the FFN width of every layer, or skip";
  let description = [{
    One entry per layer of the universal model, in layer order: a width
    (0 removes the layer's FFN) or `skip` (the whole layer is removed).
    Example: `#matformer.mix<[64, 128, 0, skip]>`.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$layers);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Encodes `skip` in `layers`.
    static constexpr int64_t kSkip = -1;
    bool isSkipped(unsigned layer) const { return getLayers()[layer] == kSkip; }
  }];
}

#endif
