// The same universal model under every MIX form of docs/REFERENCE.md,
// Mix'n'Match syntax.
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=XL" | FileCheck %s --check-prefix=XL
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,M,L" | FileCheck %s --check-prefix=NAMES
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=g0,g3,g1" | FileCheck %s --check-prefix=GK
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=3,16,8" 2>&1 | FileCheck %s --check-prefix=WIDTHS
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,0,XL" | FileCheck %s --check-prefix=ZERO
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,skip,XL" | FileCheck %s --check-prefix=SKIP
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=@%S/Inputs/lab-mix.json" | FileCheck %s --check-prefix=JSON
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix | FileCheck %s --check-prefix=DEFAULT

// XL: #matformer.mix<[16, 16, 16]>
// XL-COUNT-3: act silu granularities <[2, 4, 8, 16]> width 16 :
// XL-NOT: nested_ffn

// NAMES: #matformer.mix<[2, 4, 8]>
// NAMES: decoder_layer 0
// NAMES: nested_ffn {{.*}} width 2 :
// NAMES: decoder_layer 1
// NAMES: nested_ffn {{.*}} width 4 :
// NAMES: decoder_layer 2
// NAMES: nested_ffn {{.*}} width 8 :

// GK: #matformer.mix<[2, 16, 4]>
// GK: nested_ffn {{.*}} width 2 :
// GK: nested_ffn {{.*}} width 16 :
// GK: nested_ffn {{.*}} width 4 :

// A width that is not a trained granularity is allowed, with a warning.
// WIDTHS: warning: {{.*}}3{{.*}}granularit
// WIDTHS: #matformer.mix<[3, 16, 8]>
// WIDTHS: nested_ffn {{.*}} width 3 :
// WIDTHS: nested_ffn {{.*}} width 16 :
// WIDTHS: nested_ffn {{.*}} width 8 :

// Width 0: layer 1 keeps its attention, loses its FFN, post-attention norm
// and residual add.
// ZERO: #matformer.mix<[2, 0, 16]>
// ZERO: decoder_layer 1
// ZERO: matformer.attention
// ZERO-NEXT: %[[R:.*]] = arith.addf
// ZERO-NEXT: matformer.yield %[[R]]
// ZERO: decoder_layer 2
// ZERO: nested_ffn {{.*}} width 16 :

// skip: layer 1 is gone, layer 2 keeps its index and its weights' names.
// SKIP: #matformer.mix<[2, skip, 16]>
// SKIP: %[[L0:.*]] = matformer.decoder_layer 0
// SKIP-NOT: decoder_layer 1
// SKIP: matformer.decoder_layer 2(%[[L0]])
// SKIP: get_weight @model.layers.2.mlp.gate_proj.weight

// JSON: #matformer.mix<[4, skip, 16]>
// JSON: decoder_layer 0
// JSON: nested_ffn {{.*}} width 4 :
// JSON-NOT: decoder_layer 1
// JSON: decoder_layer 2
// JSON: nested_ffn {{.*}} width 16 :

// No mix: the module's matformer.default_mix ("S,M,XL").
// DEFAULT: #matformer.mix<[2, 4, 16]>
